"""The clinic's staff most of its tests need: an admin, a counselor and a peer supporter."""

from __future__ import annotations

import pytest

from companion.accounts.models import Role


@pytest.fixture
def clinic(world, make_auth):
    admin = world.user(Role.ADMIN, name="Dana")
    counselor = world.user(Role.COUNSELOR, name="Chris")
    peer = world.user(Role.PEER_SUPPORTER, name="Pat")
    return {"admin": admin, "counselor": counselor, "peer": peer,
            "as_admin": make_auth(admin), "make_auth": make_auth}
