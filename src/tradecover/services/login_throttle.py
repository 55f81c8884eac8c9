"""Password guessing is slowed down: after too many failed logins on one address, or from one client, the next
attempts are refused for a while without the password even being checked.

Failures are counted in a sliding window per e-mail address (whoever guesses it) and per client address
(whatever e-mails it tries). A success clears the address's count. The counts live in this process's memory:
a restart forgets them, and several server processes count apart — a brake on guessing, not an account lock
(an attacker cannot lock a user out for longer than the window).
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from tradecover.domain.errors import NotAuthenticated, RateLimited

T = TypeVar("T")


@dataclass(frozen=True)
class ThrottlePolicy:
    failures_per_email: int = 5
    failures_per_client: int = 30
    window: timedelta = timedelta(minutes=15)


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self._failures: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures[key]
        while times and times[0] <= now - self.policy.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return deque()
        return times

    def _refuse_if_over(self, key: str, limit: int, now: datetime) -> None:
        times = self._recent(key, now)
        if len(times) >= limit:
            retry = times[0] + self.policy.window - now
            minutes = max(-(-int(retry.total_seconds()) // 60), 1)  # rounded up: never "try in 0 minutes"
            raise RateLimited(
                f"too many failed logins: try again in {minutes} minutes",
                code="auth.too_many_attempts",
                context={"minutes": minutes},
            )

    def attempt(self, email: str, client: str, now: datetime, check: Callable[[], T]) -> T:
        """`check()` (the password check) unless the address or client failed too often; failures are counted."""
        email_key, client_key = f"email:{email.strip().lower()}", f"client:{client}"
        with self._lock:
            self._refuse_if_over(email_key, self.policy.failures_per_email, now)
            self._refuse_if_over(client_key, self.policy.failures_per_client, now)
        try:
            result = check()
        except NotAuthenticated:
            with self._lock:
                self._failures[email_key].append(now)
                self._failures[client_key].append(now)
            raise
        with self._lock:
            self._failures.pop(email_key, None)
        return result
