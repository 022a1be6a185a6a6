"""SEC-06: Argon2id, rehash on login, throttling ≤ 100 failures/hour, revocation of sessions and tokens."""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from parkcarbon.errors import InputError
from parkcarbon.services import auth
from parkcarbon.services.tenancy import scoped_transaction, system_scope
from parkcarbon.storage.models import utc_now
from parkcarbon.storage.models_auth import User

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PW = "correct horse battery"


def _session(store):
    return scoped_transaction(store, system_scope("test"))


def test_hashes_are_argon2id_above_owasp_minimum_and_upgraded_on_login(sqlite_store, monkeypatch):
    h = auth.hash_password(PW)
    assert h.startswith("$argon2id$")
    params = dict(p.split("=") for p in h.split("$")[3].split(","))
    # OWASP: m ≥ 19 MiB with t ≥ 2, or m ≥ 12 MiB with t ≥ 3 …; the default is 64 MiB, t = 3, p = 4
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2
    assert auth.verify_password(h, PW) and not auth.verify_password(h, PW + "x")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        auth.verify_password(h, PW)
        times.append(time.perf_counter() - t0)
    print(json.dumps({"test_id": "SEC-06", "hash_verify_p50_ms": round(1000 * statistics.median(times), 1),
                      "memory_kib": int(params["m"])}))
    # an old (weaker) hash is upgraded at the next successful login
    monkeypatch.setattr(auth, "_HASHER", CHEAP)
    with _session(sqlite_store) as repo:
        user = auth.create_user(repo.session, username="old", password=PW)
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher())
    with _session(sqlite_store) as repo:
        res = auth.login(repo.session, "old", PW)
        assert "m=65536" in res.user.password_hash and res.user.id == user.id
    with pytest.raises(InputError):
        auth.hash_password("short")
    assert RFC_9106_LOW_MEMORY.memory_cost <= 65536


def _attempt(store, username, password):
    err = None
    with _session(store) as repo:
        try:
            auth.login(repo.session, username, password)
        except (auth.AuthenticationError, auth.ThrottledError) as exc:
            err = exc
    return err


def test_login_throttling_per_account(sqlite_store, monkeypatch):
    monkeypatch.setattr(auth, "_HASHER", CHEAP)
    with _session(sqlite_store) as repo:
        auth.create_user(repo.session, username="alice", password=PW)
        auth.create_user(repo.session, username="bob", password=PW)
    outcomes = [type(_attempt(sqlite_store, "alice", "wrong password")).__name__ for _ in range(150)]
    first_throttled = outcomes.index("ThrottledError") + 1
    assert first_throttled <= auth.MAX_FAILURES_PER_HOUR + 1
    assert set(outcomes[first_throttled - 1:]) == {"ThrottledError"}
    # even the right password is refused while throttled; another account is unaffected
    assert isinstance(_attempt(sqlite_store, "alice", PW), auth.ThrottledError)
    assert _attempt(sqlite_store, "bob", PW) is None
    print(json.dumps({"test_id": "SEC-06", "attempts_before_throttle": first_throttled - 1}))
    # an hour later the window is clear
    later = utc_now() + timedelta(hours=1, minutes=1)
    with _session(sqlite_store) as repo:
        assert auth.login(repo.session, "alice", PW, now=later).user.username == "alice"


def test_logout_password_and_role_changes_revoke_sessions_and_tokens(sqlite_store, monkeypatch):
    from parkcarbon.services.scoped import grant_role

    monkeypatch.setattr(auth, "_HASHER", CHEAP)
    with _session(sqlite_store) as repo:
        user = auth.create_user(repo.session, username="carol", password=PW)
        park = repo.add_park(code="P", name="p", province="江苏")
    stale = 0

    def creds():
        with _session(sqlite_store) as repo:
            u = repo.session.get(User, user.id)
            s = auth.login(repo.session, "carol", PW)
            t = auth.create_api_token(repo.session, u, name="gw")
        return s.token, t.secret

    def alive(session_token, api_token):
        out = []
        with _session(sqlite_store) as repo:
            for fn, tok in ((auth.authenticate_session, session_token), (auth.authenticate_token, api_token)):
                try:
                    fn(repo.session, tok)
                    out.append(True)
                except auth.AuthenticationError:
                    out.append(False)
        return out

    # logout everywhere
    s, t = creds()
    assert alive(s, t) == [True, True]
    with _session(sqlite_store) as repo:
        a = auth.authenticate_session(repo.session, s)
        auth.logout(repo.session, a, everywhere=True)
    stale += sum(alive(s, t))
    # password change
    s, t = creds()
    with _session(sqlite_store) as repo:
        auth.change_password(repo.session, repo.session.get(User, user.id), PW, PW + " new")
    stale += sum(alive(s, t))
    with _session(sqlite_store) as repo:
        auth.change_password(repo.session, repo.session.get(User, user.id), PW + " new", PW)
    # role change
    s, t = creds()
    with _session(sqlite_store) as repo:
        grant_role(repo, system_scope(), user.id, role="park_admin", park_id=park.id, enterprise_id=None)
    stale += sum(alive(s, t))
    # a single token revoked; expired session
    s, t = creds()
    with _session(sqlite_store) as repo:
        tok = auth.authenticate_token(repo.session, t)
        auth.revoke_api_token(repo.session, repo.session.get(User, user.id), tok.credential_id)
    assert alive(s, t) == [True, False]
    with _session(sqlite_store) as repo:
        with pytest.raises(auth.AuthenticationError):
            auth.authenticate_session(repo.session, s, now=utc_now() + auth.SESSION_LIFETIME + timedelta(seconds=1))
    assert stale == 0
