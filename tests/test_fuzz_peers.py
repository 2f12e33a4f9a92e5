"""The short versions of the hostile-server campaigns of tests/fuzz_peers.py (the long ones are
run by hand: docs/FUZZING.md).

Each campaign scenario is drawn by Hypothesis here (so a failure shrinks to a small
conversation): the auth-key exchange against a hostile server, and client sessions of every
build there is against hostile payloads, the builds compared event for event.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_peers import AuthKeyCampaign, SessionCampaign
from tl_strategies import HypothesisSource

# A few seconds per build: an exchange step costs about a millisecond, a session scenario
# (two builds, gzip bombs inflated up to the 16 MiB budget) tens of milliseconds.
SHORT = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                       HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def authkey_campaign() -> AuthKeyCampaign:
    return AuthKeyCampaign()


@pytest.fixture(scope="module")
def session_campaign() -> SessionCampaign:
    return SessionCampaign()


@given(data=st.data())
@settings(SHORT, max_examples=60)
def test_hostile_server_against_the_auth_key_exchange(data: Any,
                                                       authkey_campaign: AuthKeyCampaign) -> None:
    authkey_campaign.scenario(HypothesisSource(data.draw))


@given(data=st.data())
@settings(SHORT, max_examples=25)
def test_hostile_server_against_client_sessions_of_every_build(
        data: Any, session_campaign: SessionCampaign) -> None:
    session_campaign.scenario(HypothesisSource(data.draw))
