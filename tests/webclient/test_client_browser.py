"""The player's web client end to end, in Debian's Chromium at a phone's size, against the live server and the
real API (no part of the backend faked): open it as a demo player through /dev/players/, see today's proposal,
answer every step of the quiz, see the profile, see the card change (the quiz mission is gone), "Go to game".

Screenshots of each step go to var/screenshots/ (gitignored), named <test>-<locale>-<step>.png.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps

from quiz.selectors import quiz_versions_forget
from recommendations.models import RecommendationImpression
from tests.recommendations.helpers import fund, player, segment

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
GAME_HOST = "https://games.tokenloop.test"
CORPORATE_HOST = "https://company-a.tokenloop.test"
PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels
TEXTS: dict[str, dict[str, Any]] = {
    "ko": {
        "today": "오늘의 제안",
        "take_quiz": "퀴즈 참여하기",
        "next": "다음",
        "submit": "제출",
        "profile": "나의 성향 프로필",
        "see_today": "오늘의 제안 보기",
        "go_to_game": "게임으로 이동",
        "missing": "답하지 않은 질문이",
        "step": lambda n, total: f"{total}단계 중 {n}단계",
    },
    "en": {
        "today": "Today's proposal",
        "take_quiz": "Take the quiz",
        "next": "Next",
        "submit": "Submit",
        "profile": "Your profile",
        "see_today": "See today's proposal",
        "go_to_game": "Go to game",
        "missing": "not answered",
        "step": lambda n, total: f"Step {n} of {total}",
    },
}


@pytest.fixture
def client_settings(settings: Any) -> Any:
    settings.DEV_PAGES = True
    settings.WEBCLIENT_GAME_URL = GAME_HOST + "/play/{game}"
    settings.WEBCLIENT_CORPORATE_URL = CORPORATE_HOST + "/"
    return settings


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A phone-sized page. In the whole flow the browser's own language is the other one, so the client's texts can
    only follow the player's locale from the API (GET /api/quiz). Leaving for the game or Company A lands on a stub
    page (no network here)."""
    locale = request.node.callspec.params["locale"]
    other = request.node.originalname.startswith("test_the_whole_flow")
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale={"ko": "ko-KR", "en": "en-US"}[("en" if locale == "ko" else "ko") if other else locale],
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    for host in (GAME_HOST, CORPORATE_HOST):
        page.route(
            f"{host}/**",
            lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>left the client</h1>"),
        )
    yield page
    context.close()


class Shots:
    def __init__(self, page: Any, prefix: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page, self.prefix, self.n = page, prefix, 0

    def __call__(self, step: str) -> None:
        self.n += 1
        path = SCREENSHOTS / f"{self.prefix}-{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0


def demo_player(player_id: int, locale: str) -> None:
    """A High Engaged player with 250 tokens and no quiz taken: Slot machine, MID_STAKE, Company A, QUIZ_MISSION.
    The default quiz (its data migration) is there too, also after an earlier transactional test emptied the tables."""
    importlib.import_module("quiz.migrations.0002_default_quiz").create(apps, None)
    quiz_versions_forget()
    player(player_id, locale=locale, timezone="Asia/Seoul")
    segment(player_id, "High Engaged")
    fund(player_id, 250)


def open_as(page: Any, live_server: Any, player_id: int) -> None:
    page.goto(f"{live_server.url}/dev/players/")
    page.get_by_role("button", name=re.compile(rf"^Player {player_id} ")).click()
    page.wait_for_url(f"{live_server.url}/app/")  # the token left the URL (kept for the tab's session)


def proposal_types(page: Any) -> list[str]:
    return page.locator("[data-testid=today-card] li.proposal").evaluate_all("els => els.map(e => e.dataset.type)")


def clicked(player_id: int) -> list[str]:
    rows = RecommendationImpression.objects.filter(user_id=player_id, clicked_at__isnull=False)
    return sorted(rows.values_list("proposal_type", flat=True))


def go_to_game(page: Any, texts: dict[str, Any]) -> None:
    page.get_by_role("button", name=texts["go_to_game"], exact=True).click()
    page.wait_for_url(f"{GAME_HOST}/play/SlotMachine")


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_card_as_a_demo_player_and_go_to_game(phone, live_server, transactional_db, client_settings, locale):
    # given a demo player
    pid = 7_100_001 if locale == "ko" else 7_100_002
    demo_player(pid, locale)
    shots = Shots(phone, f"card-{locale}")
    texts = TEXTS[locale]
    # when a person opens the client as them through the development page
    phone.goto(f"{live_server.url}/dev/players/")
    shots("dev-players")
    open_as(phone, live_server, pid)
    # then the card shows the recommended game and the proposals, worded in the player's language
    card = phone.get_by_role("region", name=texts["today"])
    card.wait_for()
    assert proposal_types(phone) == ["MID_STAKE", "CORPORATE_ENGAGE", "QUIZ_MISSION"]
    message = card.locator("li.proposal[data-type=MID_STAKE] .message").inner_text()
    assert "250" in message and (("토큰" in message) if locale == "ko" else ("tokens" in message))
    shots("card")
    # when they tap "Go to game"
    go_to_game(phone, texts)
    shots("game")
    # then they are at the game, and the click on the slot machine proposal was recorded
    assert clicked(pid) == ["MID_STAKE"]


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_whole_flow_quiz_profile_card_changes_go_to_game(
    phone, live_server, transactional_db, client_settings, locale
):
    # given a demo player who has not taken the quiz
    pid = 7_200_001 if locale == "ko" else 7_200_002
    demo_player(pid, locale)
    shots = Shots(phone, f"flow-{locale}")
    texts = TEXTS[locale]
    # when the client is opened as them
    open_as(phone, live_server, pid)
    phone.get_by_role("region", name=texts["today"]).wait_for()
    assert phone.evaluate("document.documentElement.lang") == locale
    assert "QUIZ_MISSION" in proposal_types(phone)
    shots("card-before")
    # and they take the quiz from the quiz mission's button
    phone.locator("li.proposal[data-type=QUIZ_MISSION]").get_by_role("button", name=texts["take_quiz"]).click()
    progress = phone.get_by_test_id("quiz-progress")
    progress.wait_for()
    total = max(int(n) for n in re.findall(r"\d+", progress.inner_text()))
    assert total >= 2
    # Next with nothing answered is refused and says so
    phone.get_by_role("button", name=texts["next"], exact=True).click()
    assert texts["missing"] in phone.get_by_role("alert").inner_text()
    shots("step-1-refused")
    for step in range(1, total + 1):
        assert progress.inner_text() == texts["step"](step, total)
        groups = phone.locator("fieldset.question")
        assert 2 <= groups.count() <= 3  # 2 to 3 questions a step
        for i in range(groups.count()):
            group = groups.nth(i)
            assert group.locator("legend").inner_text().strip()
            radios = group.get_by_role("radio")
            # answer from the keyboard on the first question, by tapping the label elsewhere
            if i == 0:
                radios.first.focus()
                phone.keyboard.press("Space")
                phone.keyboard.press("ArrowRight" if radios.count() > 1 else "Space")
            else:
                group.locator("label").last.click()
            assert group.locator("input:checked").count() == 1
        shots(f"step-{step}")
        last = step == total
        phone.get_by_role("button", name=texts["submit"] if last else texts["next"], exact=True).click()
    # then the profile is shown as facts
    profile = phone.get_by_role("region", name=texts["profile"])
    profile.wait_for()
    assert phone.get_by_test_id("risk-profile").inner_text().strip()
    assert not re.search(r"%|probab|확률", profile.inner_text(), re.IGNORECASE)
    shots("profile")
    # and back on today's proposal the quiz mission is gone
    phone.get_by_role("button", name=texts["see_today"]).click()
    phone.get_by_role("region", name=texts["today"]).wait_for()
    phone.wait_for_function("!document.querySelector('li.proposal[data-type=QUIZ_MISSION]')")
    assert "QUIZ_MISSION" not in proposal_types(phone)
    shots("card-after")
    # and "Go to game" leads to the game, the clicks recorded
    go_to_game(phone, texts)
    shots("game")
    assert clicked(pid) == ["MID_STAKE", "QUIZ_MISSION"]
