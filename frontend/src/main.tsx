// Entry: the config Django put in the page (#tl-config), the player's token from the URL's fragment
// (/app/#token=<JWT>: a fragment never reaches a server or its logs), kept for the tab's session only.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { makeApi } from "./api";
import { App, Message } from "./App";
import { LocaleContext, localeOf } from "./i18n";
import "./styles.css";
import type { ClientConfig } from "./types";

const TOKEN_KEY = "tokenloop.playerToken";

function readConfig(): ClientConfig {
  const defaults: ClientConfig = { apiBase: "/api", gameUrl: "", corporateUrl: "", protectionUrl: "", devPlayersUrl: "" };
  const element = document.getElementById("tl-config");
  if (!element?.textContent) return defaults;
  return { ...defaults, ...(JSON.parse(element.textContent) as Partial<ClientConfig>) };
}

function takeToken(): string | null {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const fromUrl = params.get("token");
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const config = readConfig();
const token = takeToken();
const root = createRoot(document.getElementById("root")!);
root.render(
  <StrictMode>
    {token ? (
      <App
        api={makeApi(config.apiBase, token)}
        config={config}
        navigate={(url) => window.location.assign(url)}
        fallbackLocale={navigator.language}
      />
    ) : (
      <LocaleContext.Provider value={localeOf(null)}>
        <main className="app-main">
          <Message text="noToken" devPlayersUrl={config.devPlayersUrl} />
        </main>
      </LocaleContext.Provider>
    )}
  </StrictMode>,
);
