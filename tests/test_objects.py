"""Generated objects behave like records: construction, equality, repr, to_dict, copy, pickle."""

from __future__ import annotations

import copy
import pickle

import pytest

import tlcodec
from tlcodec import types
from tlcodec.functions.auth import ImportLoginToken
from tlcodec.types.auth import LoginToken


def make_user() -> types.User:
    return types.User(
        id=42,
        self=True,
        first_name="Alice",
        usernames=[types.Username(username="alice", active=True)],
        status=types.UserStatusOffline(was_online=1707425135),
    )


def test_positional_arguments_follow_field_order() -> None:
    assert LoginToken(1707425135, b"tok") == LoginToken(expires=1707425135, token=b"tok")


def test_absent_optional_fields_default_to_none_and_flag_booleans_to_false() -> None:
    user = types.User(id=1)
    assert user.first_name is None
    assert user.premium is False


def test_copy_deepcopy_and_pickle_keep_every_field() -> None:
    # The compiled base class must not pickle as an empty shell (Cython's default would).
    user = make_user()
    assert copy.copy(user) == user
    clone = copy.deepcopy(user)
    assert clone == user and clone.usernames is not user.usernames
    assert pickle.loads(pickle.dumps(user)) == user
    token = ImportLoginToken(token=b"\x01" * 32)
    assert pickle.loads(pickle.dumps(token)) == token


def test_equality_compares_type_and_every_field() -> None:
    assert LoginToken(expires=1, token=b"a") != LoginToken(expires=1, token=b"b")
    assert LoginToken(expires=1, token=b"a") != types.auth.LoginTokenMigrateTo(dc_id=1, token=b"a")


def test_objects_are_unhashable_like_any_mutable_record() -> None:
    with pytest.raises(TypeError):
        hash(LoginToken(expires=1, token=b"a"))


def test_repr_names_the_class_and_fields() -> None:
    assert repr(LoginToken(expires=5, token=b"ab")) == "LoginToken(expires=5, token=b'ab')"


def test_to_dict_nests_objects_and_lists_with_tl_names() -> None:
    assert make_user().to_dict()["usernames"] == [
        {"_": "username", "editable": False, "active": True, "username": "alice"}
    ]
    assert make_user().to_dict()["_"] == "user"


def test_fields_can_be_reassigned_and_the_new_value_is_encoded() -> None:
    token = LoginToken(expires=1, token=b"a")
    token.token = b"b"
    assert LoginToken.from_bytes(bytes(token)).token == b"b"


def test_a_field_that_was_never_set_is_an_error_on_encode() -> None:
    # Instances made with __new__ skip the constructor; encoding must not read garbage.
    blank = LoginToken.__new__(LoginToken)
    with pytest.raises(AttributeError, match="LoginToken.expires"):
        tlcodec.encode(blank)


def test_function_classes_know_their_result_type() -> None:
    assert ImportLoginToken.RESULT_TYPE == "auth.LoginToken"
    assert ImportLoginToken.CONSTRUCTOR_ID == 0x95AC5CE4
    assert tlcodec.bundled.result_spec(ImportLoginToken(token=b"")).name == "auth.LoginToken"


def test_any_result_type_encodes_with_encode_as() -> None:
    # Servers answer functions whose result is not an object (users.getUsers -> Vector<User>).
    users = [make_user(), types.UserEmpty(id=7)]
    data = tlcodec.bundled.encode_as(users, "Vector<User>")
    assert data[:4] == bytes.fromhex("15c4b51c")
    assert tlcodec.decode(data, "Vector<User>") == users
    assert tlcodec.bundled.encode_as(False, "Bool") == bytes.fromhex("379779bc")


def test_encode_as_rejects_values_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match=r"Vector<User>: expected User, got int"):
        tlcodec.bundled.encode_as([1], "Vector<User>")


def test_encode_result_uses_the_request_result_type() -> None:
    request = tlcodec.functions.users.GetUsers(id=[types.InputUserSelf()])
    users = [make_user()]
    assert tlcodec.bundled.encode_result(request, users) == tlcodec.bundled.encode_as(
        users, "Vector<User>"
    )
