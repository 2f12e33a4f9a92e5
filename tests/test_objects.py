"""Generated objects behave like records: construction, equality, repr, to_dict, copy, pickle."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

import tlcodec
from tlcodec.functions.auth import ImportLoginToken

from support import CodecBuild


def make_user(tl: Any) -> Any:
    """A user with a list and an object in its fields (`tl`: a CodecBuild, or tlcodec itself)."""
    return tl.types.User(
        id=42,
        self=True,
        first_name="Alice",
        usernames=[tl.types.Username(username="alice", active=True)],
        status=tl.types.UserStatusOffline(was_online=1707425135),
    )


def test_positional_arguments_follow_field_order(tl: CodecBuild) -> None:
    login_token = tl.types.auth.LoginToken
    assert login_token(1707425135, b"tok") == login_token(expires=1707425135, token=b"tok")


def test_absent_optional_fields_default_to_none_and_flag_booleans_to_false(tl: CodecBuild) -> None:
    user = tl.types.User(id=1)
    assert user.first_name is None
    assert user.premium is False


def test_copy_and_deepcopy_keep_every_field(tl: CodecBuild) -> None:
    user = make_user(tl)
    assert copy.copy(user) == user
    clone = copy.deepcopy(user)
    assert clone == user and clone.usernames is not user.usernames


def test_pickle_keeps_every_field() -> None:
    # The compiled base class must not pickle as an empty shell (Cython's default would).
    # Only the generated classes (this run's build) are found again by their module's name.
    user = make_user(tlcodec)
    assert pickle.loads(pickle.dumps(user)) == user
    token = ImportLoginToken(token=b"\x01" * 32)
    assert pickle.loads(pickle.dumps(token)) == token


def test_equality_compares_type_and_every_field(tl: CodecBuild) -> None:
    login_token = tl.types.auth.LoginToken
    assert login_token(expires=1, token=b"a") != login_token(expires=1, token=b"b")
    migrate_to = tl.types.auth.LoginTokenMigrateTo
    assert login_token(expires=1, token=b"a") != migrate_to(dc_id=1, token=b"a")


def test_objects_are_unhashable_like_any_mutable_record(tl: CodecBuild) -> None:
    with pytest.raises(TypeError):
        hash(tl.types.auth.LoginToken(expires=1, token=b"a"))


def test_repr_names_the_class_and_fields(tl: CodecBuild) -> None:
    token = tl.types.auth.LoginToken(expires=5, token=b"ab")
    assert repr(token) == "LoginToken(expires=5, token=b'ab')"


def test_repr_leaves_out_false_flags_and_absent_optional_fields(tl: CodecBuild) -> None:
    # Required fields always show, even None-like values; of the flag-guarded ones only those
    # that are set.
    user = tl.types.User(id=7, bot=True, first_name="Al", username=None)
    assert repr(user) == "User(bot=True, id=7, first_name='Al')"
    assert repr(tl.types.UserEmpty(id=0)) == "UserEmpty(id=0)"
    assert repr(tl.types.UpdateShort(update=tl.types.UpdateLoginToken(), date=0)) == (
        "UpdateShort(update=UpdateLoginToken(), date=0)")
    assert repr(tl.types.User(id=1, self=False, contact=True)) == "User(contact=True, id=1)"


def test_to_dict_nests_objects_and_lists_with_tl_names(tl: CodecBuild) -> None:
    assert make_user(tl).to_dict()["usernames"] == [
        {"_": "username", "editable": False, "active": True, "username": "alice"}
    ]
    assert make_user(tl).to_dict()["_"] == "user"


def test_fields_can_be_reassigned_and_the_new_value_is_encoded(tl: CodecBuild) -> None:
    token = tl.types.auth.LoginToken(expires=1, token=b"a")
    token.token = b"b"
    assert tl.types.auth.LoginToken.from_bytes(bytes(token)).token == b"b"


def test_a_field_that_was_never_set_is_an_error_on_encode(tl: CodecBuild) -> None:
    # Instances made with __new__ skip the constructor; encoding must not read garbage.
    blank = tl.types.auth.LoginToken.__new__(tl.types.auth.LoginToken)
    with pytest.raises(AttributeError, match="LoginToken.expires"):
        tl.encode(blank)


def test_function_classes_know_their_result_type(tl: CodecBuild) -> None:
    import_login_token = tl.functions.auth.ImportLoginToken
    assert import_login_token.RESULT_TYPE == "auth.LoginToken"
    assert import_login_token.CONSTRUCTOR_ID == 0x95AC5CE4
    assert tl.bundled.result_spec(import_login_token(token=b"")).name == "auth.LoginToken"


def test_any_result_type_encodes_with_encode_as(tl: CodecBuild) -> None:
    # Servers answer functions whose result is not an object (users.getUsers -> Vector<User>).
    users = [make_user(tl), tl.types.UserEmpty(id=7)]
    data = tl.bundled.encode_as(users, "Vector<User>")
    assert data[:4] == bytes.fromhex("15c4b51c")
    assert tl.decode(data, "Vector<User>") == users
    assert tl.bundled.encode_as(False, "Bool") == bytes.fromhex("379779bc")


def test_encode_as_rejects_values_of_the_wrong_type(tl: CodecBuild) -> None:
    with pytest.raises(TypeError, match=r"Vector<User>: expected User, got int"):
        tl.bundled.encode_as([1], "Vector<User>")


def test_encode_result_uses_the_request_result_type(tl: CodecBuild) -> None:
    request = tl.functions.users.GetUsers(id=[tl.types.InputUserSelf()])
    users = [make_user(tl)]
    assert tl.bundled.encode_result(request, users) == tl.bundled.encode_as(
        users, "Vector<User>"
    )
