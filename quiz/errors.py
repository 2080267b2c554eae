"""Why a submission is refused (typed errors, turned into HTTP answers by ``core.exceptions``). Bad answers are an
``InvalidInput`` (400) naming each field, ``answers.<key>``."""

from __future__ import annotations

from core.exceptions import DomainError


class RetakeNotAllowed(DomainError):
    """The player took this version less than ``QUIZ_RETAKE_DAYS`` ago (409; the message says from when)."""

    code = "retake_not_allowed"


class QuizUnavailable(DomainError):
    """No version of the quiz is published."""

    code = "quiz_unavailable"


class QuizVersionFrozen(DomainError):
    """A published version, or one a player answered, never changes: copy it into a new draft to edit it."""

    code = "quiz_version_frozen"
