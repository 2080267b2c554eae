import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { LocaleContext } from "../i18n";
import type { Locale } from "../types";

export function renderIn(locale: Locale, ui: ReactElement) {
  return render(<LocaleContext.Provider value={locale}>{ui}</LocaleContext.Provider>);
}
