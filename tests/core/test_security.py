import uuid

import pytest
from argon2 import PasswordHasher

from opmaestro.core.security import (
    csrf_token,
    hash_password,
    hash_token,
    needs_rehash,
    new_token,
    password_problem,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12"),
        ("x" * 129, "at most 128"),
        ("password1234", "too common"),
        ("aaaaaaaaaaaaaa", "too common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, problem):
    assert problem in password_problem(password)


@pytest.mark.parametrize("password", ["correct horse battery staple", "Zz9!" * 3, "ünïcödé pässwörd"])
def test_long_uncommon_passwords_need_no_composition_rules(password):
    assert password_problem(password) is None


async def test_passwords_are_argon2id_and_verify():
    hashed = await hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert await verify_password(hashed, "correct horse battery staple")
    assert not await verify_password(hashed, "Correct horse battery staple")
    assert not await verify_password(None, "anything at all here")
    assert not await verify_password("not-a-hash", "anything at all here")


def test_hashes_made_with_weaker_parameters_need_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash("correct horse battery staple")
    assert needs_rehash(weak)


def test_tokens_are_random_prefixed_and_stored_as_sha256():
    first, second = new_token("opm_pat_"), new_token("opm_pat_")
    assert first.startswith("opm_pat_") and first != second and len(first) > 40
    assert len(hash_token(first)) == 64 and hash_token(first) != first


def test_csrf_tokens_are_bound_to_one_session_and_secret():
    session_a, session_b = uuid.uuid4(), uuid.uuid4()
    assert csrf_token("k" * 32, session_a) == csrf_token("k" * 32, session_a)
    assert csrf_token("k" * 32, session_a) != csrf_token("k" * 32, session_b)
    assert csrf_token("k" * 32, session_a) != csrf_token("j" * 32, session_a)
