"""Any method of the layer through `Client.invoke`, and `Client(schema=...)` for another layer,
against the local test DCs (the oracle is the test DCs' own decoding of what the client sent,
and what they record of its initConnection: `World.client_info`).

- Methods of the bundled layer the DCs answer come back decoded as their result type (objects,
  `Vector<User>`), through the generic wrappers too; `Bool` and `Vector<int>` answers (no
  handler of the DCs returns them) are sent by a `request_hook` through the DC's real session.
- A method the DCs do not implement reaches the caller as the `RPCError` they answer.
- A request of another `Schema`, alone or inside a wrapper, or no TL call at all, is a
  `TypeError` before anything is sent (not even a connection opened).
- `Client(schema=Schema.from_tl(...))` of another layer number logs in with the QR code (with
  the migration to the account's DC, and with a 2FA password), calls methods, and every DC it
  connected to saw that layer in `invokeWithLayer`; results are that schema's objects.
- A schema the client cannot use is refused when the `Client` is made.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

import tlcodec
from tlcodec import Schema, errors, functions, types
from tlcodec.client import Client
from tlcodec.crypto import auth_key_id
from tlcodec.errors import RPCError, SchemaError
from tlcodec.schema import DATA_DIR
from tlcodec.testing import DataCentres, KeyRef
from tlcodec.testing.server import HeldRequest
from tlcodec.testing.world import UNSUPPORTED_METHOD

from support import API_HASH, API_ID, authorize_new_account, client_for, cluster, run_scenario

OTHER_LAYER = 230


def _bundled_texts() -> tuple[str, str]:
    texts = []
    for name in ("api.tl", "mtproto.tl"):
        with open(os.path.join(DATA_DIR, name), encoding="utf-8") as file:
            texts.append(file.read())
    return texts[0], texts[1]


@pytest.fixture(scope="module")
def other_layer() -> Schema:
    """The bundled .tl texts with another LAYER line: another layer's schema, whose classes
    are not the bundled ones."""
    api, mtproto = _bundled_texts()
    line = f"// LAYER {tlcodec.LAYER}"
    assert line in api
    schema = Schema.from_tl(api.replace(line, f"// LAYER {OTHER_LAYER}"), mtproto)
    assert schema.layer == OTHER_LAYER
    return schema


def _layer_seen(dcs: DataCentres, client: Client, dc_id: int) -> int:
    """The layer of the invokeWithLayer the DC received on the client's key there."""
    connection = client.connection(dc_id)
    assert connection is not None and connection.auth_key is not None
    info = dcs.world.client_info(KeyRef(dc_id, auth_key_id(connection.auth_key)))
    assert info is not None
    return info.layer


# ----------------------------------------------------------------------------------------------
# Any method of the bundled layer


def test_bundled_methods_and_wrappers_return_their_decoded_results() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            account = authorize_new_account(dcs, client)
            config = await client.invoke(functions.help.GetConfig())
            assert isinstance(config, types.Config) and config.this_dc == 2
            users = await client.invoke(functions.users.GetUsers(id=[types.InputUserSelf()]))
            assert isinstance(users, list) and isinstance(users[0], types.User)
            assert users[0].id == account.user_id
            state = await client.invoke(functions.updates.GetState())
            assert isinstance(state, types.updates.State)
            password = await client.invoke(functions.account.GetPassword())
            assert isinstance(password, types.account.Password) and not password.has_password
            # Generic wrappers: the answer is the wrapped query's result.
            config = await client.invoke(functions.InvokeWithLayer(
                layer=tlcodec.LAYER, query=functions.help.GetConfig()))
            assert isinstance(config, types.Config)
            state = await client.invoke(functions.InvokeAfterMsg(
                msg_id=0, query=functions.updates.GetState()))
            assert isinstance(state, types.updates.State)
            users = await client.invoke(functions.InvokeWithoutUpdates(
                query=functions.InvokeWithoutUpdates(
                    query=functions.users.GetUsers(id=[types.InputUserSelf()]))))
            assert [user.id for user in users] == [account.user_id]

    run_scenario(scenario)


def test_bool_and_vector_of_int_answers_are_decoded() -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            authorize_new_account(dcs, client)
            answers = {"account.updateStatus": [True, False], "contacts.getContactIDs": [[7, -1]]}

            def answer_from_the_table(held: HeldRequest) -> bool:
                request = held.request
                while hasattr(request, "query"):  # the call inside the wrappers
                    request = request.query
                queued = answers.get(request.TL_NAME)
                if not queued:
                    return False
                held.session.answer(held.msg_id, queued.pop(0), request=held.request)
                held.flush()
                return True

            dcs.request_hook = answer_from_the_table
            assert await client.invoke(functions.account.UpdateStatus(offline=True)) is True
            assert await client.invoke(functions.InvokeWithoutUpdates(
                query=functions.account.UpdateStatus(offline=False))) is False
            assert await client.invoke(functions.contacts.GetContactIDs(hash=0)) == [7, -1]
            assert answers == {"account.updateStatus": [], "contacts.getContactIDs": []}

    run_scenario(scenario)


@pytest.mark.parametrize("request_", [
    functions.contacts.GetContacts(hash=0),
    functions.messages.GetDialogs(offset_date=0, offset_id=0, offset_peer=types.InputPeerEmpty(),
                                  limit=20, hash=0),
    functions.photos.GetUserPhotos(user_id=types.InputUserSelf(), offset=0, max_id=0, limit=10),
    functions.InvokeWithoutUpdates(query=functions.account.GetAuthorizations()),
], ids=lambda request: request.TL_NAME)
def test_a_method_the_test_dcs_lack_is_their_rpc_error(request_: Any) -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs) as client:
            authorize_new_account(dcs, client)
            with pytest.raises(RPCError) as refused:
                await client.invoke(request_)
            assert type(refused.value) is RPCError  # no typed subclass for this text
            assert (refused.value.code, refused.value.message) == (400, UNSUPPORTED_METHOD)
            assert refused.value.request is request_
            # The connection goes on.
            assert isinstance(await client.invoke(functions.updates.GetState()),
                              types.updates.State)

    run_scenario(scenario)


# ----------------------------------------------------------------------------------------------
# What invoke refuses


def test_a_request_of_another_schema_is_refused_before_anything_is_sent(
        other_layer: Schema) -> None:
    async def scenario() -> None:
        async with cluster() as dcs:
            seen: list[str] = []
            real_invoke = dcs.world.invoke

            def spy(caller: Any, request: Any) -> Any:
                seen.append(request.TL_NAME)
                return real_invoke(caller, request)

            dcs.world.invoke = spy  # type: ignore[method-assign]
            foreign = other_layer.get("help.getConfig")()
            refused = [
                foreign,
                functions.InvokeWithoutUpdates(query=foreign),  # the answer would be foreign
                functions.InvokeAfterMsg(msg_id=0, query=functions.InvokeWithoutUpdates(
                    query=foreign)),
                types.InputUserSelf(),  # a constructor, not a call
                b"\x00" * 4,
            ]
            async with client_for(dcs) as client:
                await client.connection(2).wait_config(10)  # the init call was answered
                assert seen == ["invokeWithLayer"]
                for dc_id in (None, 2, 3):  # home DC, the open connection, one not open
                    for request in refused:
                        with pytest.raises(TypeError) as error:
                            await client.invoke(request, dc_id=dc_id)
                        if request is not refused[-1] and request is not refused[-2]:
                            text = str(error.value)
                            assert "help.getConfig" in text and "another schema" in text
                            assert f"layer {tlcodec.LAYER}" in text
                        else:
                            assert "TL function call" in str(error.value)
                assert client.connection(3) is None  # nothing was opened for them
                assert client.connection(2).in_flight == 0
                # The next call is the next thing the DC hears: none of those reached it.
                assert isinstance(await client.invoke(functions.help.GetConfig()), types.Config)
                assert seen == ["invokeWithLayer", "help.getConfig"]

    run_scenario(scenario)


def test_client_refuses_a_schema_it_cannot_use(other_layer: Schema) -> None:
    api, mtproto = _bundled_texts()
    with pytest.raises(TypeError, match="tlcodec.Schema"):
        Client(API_ID, API_HASH, schema=api)  # type: ignore[arg-type]
    no_layer = "\n".join(line for line in api.splitlines() if not line.startswith("// LAYER"))
    with pytest.raises(SchemaError, match="no layer"):
        Client(API_ID, API_HASH, schema=Schema.from_tl(no_layer, mtproto))
    with pytest.raises(SchemaError, match="rpc_error.*mtproto.tl"):
        Client(API_ID, API_HASH, schema=Schema.from_tl(api))  # no service schema
    without_wrapper = "\n".join(line for line in api.splitlines()
                                if not line.startswith("invokeWithLayer"))
    with pytest.raises(SchemaError, match="lacks what the client needs: invokeWithLayer$"):
        Client(API_ID, API_HASH, schema=Schema.from_tl(without_wrapper, mtproto))
    renumbered = mtproto.replace("rpc_error#2144ca19", "rpc_error#2144ca18")
    assert renumbered != mtproto
    with pytest.raises(SchemaError, match="rpc_error is #2144ca18; the MTProto session speaks "
                                          "#2144ca19"):
        Client(API_ID, API_HASH, schema=Schema.from_tl(api, renumbered))
    assert Client(API_ID, API_HASH, schema=other_layer).schema is other_layer
    assert Client(API_ID, API_HASH).schema is tlcodec.bundled


# ----------------------------------------------------------------------------------------------
# Client(schema=...): another layer


def test_client_of_another_layer_logs_in_by_qr_code_and_calls(other_layer: Schema) -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 1, schema=other_layer) as client:
            bob = dcs.create_account(first_name="Bob", phone="15550002222", dc_id=3)
            qr = await client.qr_login()

            async def accept_soon() -> None:
                await asyncio.sleep(0.05)
                dcs.accept_login_token(qr.token, bob)

            accepting = asyncio.create_task(accept_soon())
            user = await qr.wait(timeout=10)
            await accepting
            # Migrated to the account's DC with a key of its own there.
            assert client.home_dc == 3 and client.user_id == bob.user_id
            assert isinstance(user, other_layer.get("user")) and not isinstance(user, types.User)
            assert user.id == bob.user_id
            me = await client.get_me()
            assert isinstance(me, other_layer.get("user")) and me.first_name == "Bob"
            config = await client.invoke(other_layer.get("help.getConfig")())
            assert isinstance(config, other_layer.get("config")) and config.this_dc == 3
            users = await client.invoke(other_layer.get("invokeWithoutUpdates")(
                query=other_layer.get("users.getUsers")(id=[other_layer.get("inputUserSelf")()])))
            assert [u.id for u in users] == [bob.user_id]
            state = await client.invoke(other_layer.get("updates.getState")())
            assert isinstance(state, other_layer.get("updates.state"))
            with pytest.raises(RPCError) as refused:
                await client.invoke(other_layer.get("contacts.getContacts")(hash=0))
            assert refused.value.message == UNSUPPORTED_METHOD
            with pytest.raises(TypeError, match=f"layer {OTHER_LAYER}"):
                await client.invoke(functions.updates.GetState())  # the bundled class
            # Every DC it talked to was told this layer, on every key.
            assert sorted(client.session.dcs) == [1, 3]
            assert _layer_seen(dcs, client, 1) == _layer_seen(dcs, client, 3) == OTHER_LAYER

    run_scenario(scenario)


def test_client_of_another_layer_answers_a_two_step_password(other_layer: Schema) -> None:
    async def scenario() -> None:
        async with cluster() as dcs, client_for(dcs, 2, schema=other_layer) as client:
            carol = dcs.create_account(first_name="Carol", phone="15550003333", dc_id=2,
                                       password="correct horse", password_hint="horse")
            qr = await client.qr_login()
            dcs.accept_login_token(qr.token, carol)
            with pytest.raises(errors.SessionPasswordNeededError) as needed:
                await qr.wait(timeout=10)
            assert needed.value.hint == "horse"
            with pytest.raises(errors.PasswordHashInvalidError):
                await client.check_password("wrong")
            user = await client.check_password("correct horse")
            assert isinstance(user, other_layer.get("user")) and user.id == carol.user_id
            assert _layer_seen(dcs, client, 2) == OTHER_LAYER

    run_scenario(scenario)
