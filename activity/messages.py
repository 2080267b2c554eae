"""The texts activity sends: declared here, registered with ``texts`` (which renders them, with the operators'
overrides). Facts only (design brief section 6): the session's time and its tokens, never odds or encouragement."""

from __future__ import annotations

from texts.registry import message_declare

# A reality check (activity.reality_checks): how long the session has lasted and what its game rounds came to.
REALITY_CHECK = message_declare(
    "REALITY_CHECK",
    ko="지금까지 {minutes}분 동안 플레이했습니다. 이번 세션의 게임 결과(획득 - 베팅): {net_tokens} 토큰.",
    en="You have been playing for {minutes} minutes. Game rounds this session (won - staked): {net_tokens} tokens.",
    placeholders={"minutes": int, "net_tokens": int},
)
