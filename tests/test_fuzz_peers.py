"""The short versions of the hostile-server campaigns of tests/fuzz_peers.py (the long ones are
run by hand: docs/FUZZING.md), and the regression tests of what the campaigns found.

Each campaign scenario is drawn by Hypothesis here (so a failure shrinks to a small
conversation): the auth-key exchange against a hostile server, and client sessions of every
build there is against hostile payloads, the builds compared event for event.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tlcodec
from tlcodec import functions as F
from tlcodec import types as T
from tlcodec.mtproto import events as E
from tlcodec.mtproto.errors import BadMessageError

from fuzz_peers import AuthKeyCampaign, SessionCampaign
from support import ManualClock, SessionBuild
from test_mtproto_session_hostile import AUTH_KEY, SALT, SESSION_ID, T0, sealed, sent_requests
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


# ----------------------------------------------------------------------------------------------
# Regressions

@pytest.mark.parametrize("server_msg_id", [
    (1 << 63) - 1,  # the last msg_id there is
    ((1 << 31) - 3600 << 32) | 1,  # an hour before 2038-01-19 03:14:08
    -(1 << 62) + 1,  # before 1970
])
def test_a_time_correction_to_a_clock_no_msg_id_can_carry_fails_the_request(
        session_build: SessionBuild, server_msg_id: int) -> None:
    """bad_msg_notification 16/17 about one of ours is taken from any time (it is how a wrong
    clock gets corrected), and its msg_id set the clock: one near 2^63 set it where the next
    msg_ids overflowed, so that every pack() raised OverflowError (compiled) or struct.error
    (pure Python) from then on. A clock before 1970 or within a day of 2038-01-19 (the end of
    signed 64-bit msg_ids) is refused: the request fails with the notification's code."""
    clock = ManualClock(T0)
    client = session_build.ClientSession(AUTH_KEY, server_salt=SALT, session_id=SESSION_ID,
                                         now=clock)
    (request,) = sent_requests(client, 1)
    notice = tlcodec.encode(T.BadMsgNotification(bad_msg_id=request.msg_id, bad_msg_seqno=1,
                                                 error_code=16))
    (failed,) = client.receive(sealed(notice, server_msg_id, seq_no=0))
    assert isinstance(failed, E.RpcFailed) and failed.request is request
    assert isinstance(failed.error, BadMessageError) and failed.error.code == 16
    assert client.time_offset == 0
    clock.t += 7200  # the clock moves on, and what is sent still has a msg_id
    client.send(F.auth.ImportLoginToken(token=b"again"))
    assert client.pack() is not None
