"""Login attempts slowed after repeated failures, per account and per IP address, with a bounded delay.

Rule, for each key (`compte:<login>` and `ip:<address>`): count the failures of the last `window` seconds.
Under `free` failures, an attempt is allowed at once. From then on, the next attempt is allowed only
`min(base × 2^(failures − free), ceiling)` seconds after the last failure. An attempt made too early is refused
WITHOUT checking the password (so it reveals nothing) and is not recorded; a success clears the account's
failures (not the address's). The key is the login as typed, whether the account exists or not, so the answer
never tells whether a login exists.

With the defaults (account: 5 free, 30 s doubling, ceiling 15 min, window 1 h), someone trying one password
per second on one account gets 12 tries in the first hour, then about 4 an hour. The table holds only
recorded (allowed) failures of the last window, so it stays small whatever the attack.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigie.access.schema import AccessStore


@dataclass(frozen=True)
class Limit:
    free: int
    base: float
    ceiling: float
    window: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.base * 2 ** (failures - self.free), self.ceiling)


ACCOUNT = Limit(free=5, base=30.0, ceiling=900.0, window=3600.0)
ADDRESS = Limit(free=20, base=30.0, ceiling=900.0, window=3600.0)


class LoginThrottle:
    def __init__(self, store: AccessStore, account: Limit = ACCOUNT, address: Limit = ADDRESS):
        self.store = store
        self.limits = {"compte": account, "ip": address}

    @staticmethod
    def keys(login: str, ip: str | None) -> list[str]:
        keys = [f"compte:{login.strip().lower()}"]
        if ip:
            keys.append(f"ip:{ip}")
        return keys

    def wait(self, login: str, ip: str | None, at: float) -> float:
        """Seconds to wait before an attempt is allowed (0: allowed now)."""
        longest = 0.0
        for key in self.keys(login, ip):
            limit = self.limits[key.split(":", 1)[0]]
            count, last = self.store.query(
                "SELECT count(*), max(at) FROM login_failure WHERE key = ? AND at > ?", (key, at - limit.window))[0]
            if not count:
                continue
            longest = max(longest, float(last) + limit.delay(int(count)) - at)
        return max(longest, 0.0)

    def failed(self, login: str, ip: str | None, at: float) -> None:
        oldest = at - max(limit.window for limit in self.limits.values())
        with self.store.transaction():
            for key in self.keys(login, ip):
                self.store.execute("INSERT INTO login_failure (key, at) VALUES (?, ?)", (key, at))
            self.store.execute("DELETE FROM login_failure WHERE at <= ?", (oldest,))

    def succeeded(self, login: str) -> None:
        self.store.execute("DELETE FROM login_failure WHERE key = ?", (self.keys(login, None)[0],))
