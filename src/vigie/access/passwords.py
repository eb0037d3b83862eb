"""Password hashes: argon2id (argon2-cffi), with the library's current recommended parameters.

Only the encoded hash is stored (it carries its salt and parameters); `verify` accepts hashes made with older
parameters and `needs_rehash` says when to store a fresh one after a successful login.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vigie.errors import VigieError

MIN_LENGTH = 12
# Each check takes 64 MiB for about 0.1 s: at most this many at once, so that a burst of logins (from many
# addresses, which the per-address throttle does not stop) queues instead of exhausting the memory.
CONCURRENT_CHECKS = 4
_checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)

_hasher = PasswordHasher()
# Verified when the account does not exist, so that an unknown login costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("compte inexistant : mot de passe factice")


class WeakPasswordError(VigieError):
    http_status = 422


def check_strength(password: str, login: str = "") -> None:
    """Refuse a password too short, or equal to the login."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"Mot de passe trop court : au moins {MIN_LENGTH} caractères.")
    if login and password.strip().lower() == login.strip().lower():
        raise WeakPasswordError("Le mot de passe ne peut pas être l'identifiant.")


def hash_password(password: str) -> str:
    with _checks:
        return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches `password_hash`. Without a hash, a dummy verification of the same cost."""
    with _checks:
        try:
            if password_hash is None:
                _hasher.verify(_DUMMY_HASH, password)
                return False
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
