"""Realistic traffic of the full layer, built the same way with tlcodec's or Telethon's classes.

A chat history page (`messages.messages`: 100 messages with entities and media, 20 users,
5 chats), an `updates` batch as a busy account receives it, and a `messages.sendMessage` with
entities. Every builder takes the library's `types` module (`tlcodec.types` or
`telethon.tl.types`; both spell classes and fields the TL way, the same keyword arguments) and
draws everything from its own seeded `random.Random`, so the two libraries get the same objects
and must encode them to the same bytes. Used by tests/test_memory_layer.py and by
benchmarks/test_bench_layer.py (which puts this folder on sys.path).

The shapes follow what Telegram sends: message texts of a few words to a few paragraphs, with
UTF-16 entity offsets; photos with their stripped thumbnail, three JPEG sizes and a progressive
one; videos, voice notes and files as documents with their attributes; link previews; replies,
forwards and reactions on some messages; users with profile photos, statuses and usernames.

`traced_bytes_per_message` is the memory measure both use: what one decoded `message` object
(with everything it holds) keeps allocated, by tracemalloc.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import ModuleType
from typing import Any

from support import memory_use

SEED = 228
BASE_DATE = 1_767_225_600  # 2026-01-01
SELF_ID = 5_912_345_678
GROUP_CHAT_ID = 4_102_233_445
HISTORY_MESSAGES = 100
HISTORY_USERS = 20
HISTORY_CHATS = 5

FIRST_NAMES = ["Alice", "Bob", "Carol", "Dmitry", "Eve", "Farah", "Gustav", "Hana", "Ivan",
               "Jun", "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa",
               "Sven", "Tomoko"]
LAST_NAMES = ["Liddell", "Marley", "Danvers", "Ivanov", "Moneypenny", "Haddad", "Larsson",
              "Sato", "Petrov", "Li", "Mensah", "Meyer", "Garcia", "Karimi", "Berg", "Patel"]
WORDS = ("the release is out please check build tests failed again merged thanks for review "
         "meeting tomorrow at ten see you later sounds good I think we should wait for the "
         "benchmarks first did anyone try it on arm64 works for me привет как дела отлично "
         "спасибо 🙂 👍 🎉 link below docs updated see the changelog").split()
LANG_CODES = ["en", "ru", "de", "es", "ja", None]
DOMAINS = ["github.com", "docs.python.org", "core.telegram.org", "en.wikipedia.org",
           "news.ycombinator.com"]


def utf16_len(text: str) -> int:
    """Entity offsets and lengths count UTF-16 code units, as Telegram's do."""
    return len(text.encode("utf-16-le")) // 2


def file_reference(rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(rng.choice((24, 25, 29))))


def stripped_thumb(rng: random.Random, size: int) -> bytes:
    return bytes([1, 40, 40]) + bytes(rng.getrandbits(8) for _ in range(size))


def text(rng: random.Random) -> str:
    """Mostly short chat lines, some paragraphs, a few long posts."""
    kind = rng.random()
    words = rng.randint(2, 14) if kind < 0.65 else rng.randint(20, 70) if kind < 0.93 \
        else rng.randint(150, 400)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def entities(t: ModuleType, rng: random.Random, body: str, user_ids: list[int]) -> list[Any]:
    """One to five entities of the kinds clients send, at word boundaries of `body`."""
    spans = []
    offset = 0
    for word in body.split(" "):
        spans.append((offset, utf16_len(word)))
        offset += utf16_len(word) + 1
    chosen = sorted(rng.sample(spans, min(len(spans), rng.randint(1, 5))))
    made = []
    for start, length in chosen:
        kind = rng.randrange(10)
        if kind == 0:
            made.append(t.MessageEntityBold(offset=start, length=length))
        elif kind == 1:
            made.append(t.MessageEntityItalic(offset=start, length=length))
        elif kind == 2:
            made.append(t.MessageEntityUrl(offset=start, length=length))
        elif kind == 3:
            url = f"https://{rng.choice(DOMAINS)}/{rng.getrandbits(32):x}"
            made.append(t.MessageEntityTextUrl(offset=start, length=length, url=url))
        elif kind == 4:
            made.append(t.MessageEntityMention(offset=start, length=length))
        elif kind == 5:
            made.append(t.MessageEntityHashtag(offset=start, length=length))
        elif kind == 6:
            made.append(t.MessageEntityCode(offset=start, length=length))
        elif kind == 7:
            made.append(t.MessageEntityPre(offset=start, length=length,
                                           language=rng.choice(["python", "", "rust"])))
        elif kind == 8:
            made.append(t.MessageEntityMentionName(offset=start, length=length,
                                                   user_id=rng.choice(user_ids)))
        else:
            made.append(t.MessageEntityCustomEmoji(offset=start, length=length,
                                                   document_id=rng.getrandbits(62)))
    return made


def photo(t: ModuleType, rng: random.Random, date: int) -> Any:
    width, height = rng.choice(((1280, 960), (960, 1280), (1280, 720), (1080, 1080)))
    sizes = [
        t.PhotoStrippedSize(type="i", bytes=stripped_thumb(rng, rng.randint(90, 160))),
        t.PhotoSize(type="s", w=width * 90 // 1280, h=height * 90 // 1280,
                    size=rng.randint(1_000, 2_000)),
        t.PhotoSize(type="m", w=width * 320 // 1280, h=height * 320 // 1280,
                    size=rng.randint(10_000, 25_000)),
        t.PhotoSize(type="x", w=width * 800 // 1280, h=height * 800 // 1280,
                    size=rng.randint(50_000, 120_000)),
        t.PhotoSizeProgressive(type="y", w=width, h=height,
                               sizes=sorted(rng.randint(8_000, 250_000) for _ in range(5))),
    ]
    return t.Photo(id=rng.getrandbits(62), access_hash=rng.getrandbits(63) - (1 << 62),
                   file_reference=file_reference(rng), date=date, sizes=sizes,
                   dc_id=rng.choice((2, 4)))


def document(t: ModuleType, rng: random.Random, date: int) -> Any:
    kind = rng.randrange(3)
    thumbs = None
    if kind == 0:  # a video, with its thumbnail
        attributes = [
            t.DocumentAttributeVideo(supports_streaming=True, duration=rng.randint(3, 600) + 0.5,
                                     w=1280, h=720, preload_prefix_size=rng.randint(60_000,
                                                                                    200_000)),
            t.DocumentAttributeFilename(file_name=f"VID_{rng.getrandbits(40):x}.mp4"),
        ]
        mime, size = "video/mp4", rng.randint(500_000, 80_000_000)
        thumbs = [t.PhotoStrippedSize(type="i", bytes=stripped_thumb(rng, 100)),
                  t.PhotoSize(type="m", w=320, h=180, size=rng.randint(8_000, 20_000))]
    elif kind == 1:  # a voice note
        attributes = [t.DocumentAttributeAudio(voice=True, duration=rng.randint(1, 90),
                                               waveform=bytes(rng.getrandbits(8)
                                                              for _ in range(63)))]
        mime, size = "audio/ogg", rng.randint(5_000, 400_000)
    else:  # a file
        attributes = [t.DocumentAttributeFilename(
            file_name=rng.choice(["report.pdf", "benchmarks.csv", "release-notes.txt",
                                  "screenshot.png"]))]
        mime, size = "application/octet-stream", rng.randint(1_000, 5_000_000)
    return t.Document(id=rng.getrandbits(62), access_hash=rng.getrandbits(63) - (1 << 62),
                      file_reference=file_reference(rng), date=date, mime_type=mime, size=size,
                      thumbs=thumbs, dc_id=rng.choice((2, 4)), attributes=attributes)


def web_page(t: ModuleType, rng: random.Random, date: int) -> Any:
    domain = rng.choice(DOMAINS)
    path = f"{rng.getrandbits(40):x}"
    return t.WebPage(
        id=rng.getrandbits(62), url=f"https://{domain}/{path}", display_url=f"{domain}/{path}",
        hash=rng.getrandbits(31), type="article", site_name=domain.split(".")[-2].title(),
        title=" ".join(rng.choice(WORDS) for _ in range(6)),
        description=" ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 40))),
        photo=photo(t, rng, date) if rng.random() < 0.5 else None,
    )


def media(t: ModuleType, rng: random.Random, date: int) -> Any:
    kind = rng.random()
    if kind < 0.45:
        return t.MessageMediaPhoto(photo=photo(t, rng, date))
    if kind < 0.8:
        return t.MessageMediaDocument(document=document(t, rng, date))
    return t.MessageMediaWebPage(webpage=web_page(t, rng, date))


def reactions(t: ModuleType, rng: random.Random) -> Any:
    emoji = rng.sample(["👍", "❤", "🔥", "😁", "🎉", "👀"], rng.randint(1, 3))
    counts = [t.ReactionCount(reaction=t.ReactionEmoji(emoticon=e), count=rng.randint(1, 40))
              for e in emoji]
    counts[0].chosen_order = 0 if rng.random() < 0.3 else None
    return t.MessageReactions(results=counts, can_see_list=True)


def message(t: ModuleType, rng: random.Random, message_id: int, peer: Any, date: int,
            user_ids: list[int], channel_ids: list[int]) -> Any:
    body = text(rng)
    sender = rng.choice(user_ids)
    fields: dict[str, Any] = dict(
        id=message_id, peer_id=peer, date=date, message=body,
        from_id=t.PeerUser(user_id=sender), out=sender == SELF_ID,
    )
    if rng.random() < 0.6:
        fields["entities"] = entities(t, rng, body, user_ids)
    if rng.random() < 0.35:
        fields["media"] = media(t, rng, date)
    if rng.random() < 0.25:
        fields["reply_to"] = t.MessageReplyHeader(reply_to_msg_id=message_id - rng.randint(1, 30))
    if rng.random() < 0.1:
        fields["fwd_from"] = t.MessageFwdHeader(
            from_id=t.PeerChannel(channel_id=rng.choice(channel_ids)),
            date=date - rng.randint(3_600, 86_400 * 30), channel_post=rng.randint(100, 90_000))
    if rng.random() < 0.2:
        fields["reactions"] = reactions(t, rng)
    if rng.random() < 0.1:
        fields["edit_date"] = date + rng.randint(10, 600)
    return t.Message(**fields)


def user(t: ModuleType, rng: random.Random, index: int, user_id: int) -> Any:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = rng.choice(LAST_NAMES) if rng.random() < 0.7 else None
    username = f"{first.lower()}_{rng.getrandbits(16):x}" if rng.random() < 0.8 else None
    status_kind = rng.random()
    status = (t.UserStatusOnline(expires=BASE_DATE + rng.randint(60, 300)) if status_kind < 0.2
              else t.UserStatusOffline(was_online=BASE_DATE - rng.randint(60, 86_400))
              if status_kind < 0.7 else t.UserStatusRecently())
    return t.User(
        id=user_id, access_hash=rng.getrandbits(63) - (1 << 62), first_name=first,
        last_name=last, username=username,
        phone=f"44770090{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
        photo=t.UserProfilePhoto(photo_id=rng.getrandbits(62),
                                 stripped_thumb=stripped_thumb(rng, rng.randint(90, 130)),
                                 dc_id=rng.choice((1, 2, 4)))
        if rng.random() < 0.85 else None,
        status=status, contact=rng.random() < 0.5, premium=rng.random() < 0.2,
        lang_code=rng.choice(LANG_CODES),
        color=t.PeerColor(color=rng.randrange(7)) if rng.random() < 0.4 else None,
    )


def chat_photo(t: ModuleType, rng: random.Random) -> Any:
    return t.ChatPhoto(photo_id=rng.getrandbits(62), stripped_thumb=stripped_thumb(rng, 110),
                       dc_id=rng.choice((2, 4)))


def basic_group(t: ModuleType, rng: random.Random, chat_id: int, title: str) -> Any:
    return t.Chat(id=chat_id, title=title, photo=chat_photo(t, rng),
                  participants_count=rng.randint(5, 200), date=BASE_DATE - 86_400 * 400,
                  version=rng.randint(1, 40),
                  default_banned_rights=t.ChatBannedRights(embed_links=True, send_polls=True,
                                                           until_date=0x7FFFFFFF))


def channel(t: ModuleType, rng: random.Random, channel_id: int, title: str) -> Any:
    broadcast = rng.random() < 0.6
    return t.Channel(id=channel_id, access_hash=rng.getrandbits(63) - (1 << 62), title=title,
                     username=title.lower().replace(" ", "_"), photo=chat_photo(t, rng),
                     date=BASE_DATE - 86_400 * rng.randint(30, 900), broadcast=broadcast,
                     megagroup=not broadcast, participants_count=rng.randint(1_000, 400_000),
                     color=t.PeerColor(color=rng.randrange(7)))


def people(t: ModuleType, rng: random.Random, count: int) -> tuple[list[int], list[Any]]:
    ids = [SELF_ID] + [rng.randint(10_000_000, 7_999_999_999) for _ in range(count - 1)]
    return ids, [user(t, rng, i, user_id) for i, user_id in enumerate(ids)]


def chats(t: ModuleType, rng: random.Random) -> tuple[list[int], list[Any]]:
    """Two basic groups (the first is the history's chat) and three channels."""
    channel_ids = [rng.randint(1_000_000_000, 2_999_999_999) for _ in range(3)]
    made = [basic_group(t, rng, GROUP_CHAT_ID, "Release team"),
            basic_group(t, rng, GROUP_CHAT_ID + 17, "Weekend hikes"),
            channel(t, rng, channel_ids[0], "Python News"),
            channel(t, rng, channel_ids[1], "Telegram Tips"),
            channel(t, rng, channel_ids[2], "Arm Builds")]
    return channel_ids, made


def messages_messages(t: ModuleType) -> Any:
    """A page of a basic group's history, newest first, as messages.getHistory returns it."""
    rng = random.Random(SEED)
    user_ids, users = people(t, rng, HISTORY_USERS)
    channel_ids, chat_list = chats(t, rng)
    peer = t.PeerChat(chat_id=GROUP_CHAT_ID)
    history = []
    date = BASE_DATE
    for i in range(HISTORY_MESSAGES):
        date -= rng.randint(5, 900)
        history.append(message(t, rng, 48_000 - i, peer, date, user_ids, channel_ids))
    return t.messages.Messages(messages=history, topics=[], chats=chat_list, users=users)


def updates_batch(t: ModuleType) -> Any:
    """One `updates` of a busy account: new and edited messages in private chats, groups and
    channels, read marks, deletions, typing, statuses and reactions, with their users and
    chats."""
    rng = random.Random(SEED + 1)
    user_ids, users = people(t, rng, 8)
    channel_ids, chat_list = chats(t, rng)
    date = BASE_DATE
    pts = 1_204_000
    batch: list[Any] = []
    for i in range(40):
        date += rng.randint(0, 3)
        kind = i % 10
        peer = (t.PeerUser(user_id=rng.choice(user_ids[1:])) if rng.random() < 0.5
                else t.PeerChat(chat_id=GROUP_CHAT_ID))
        if kind in (0, 3, 6):
            pts += 1
            batch.append(t.UpdateNewMessage(
                message=message(t, rng, 60_000 + i, peer, date, user_ids, channel_ids),
                pts=pts, pts_count=1))
        elif kind == 1:
            pts += 1
            batch.append(t.UpdateEditMessage(
                message=message(t, rng, 59_000 + i, peer, date - 60, user_ids, channel_ids),
                pts=pts, pts_count=1))
        elif kind == 2:
            channel_peer = t.PeerChannel(channel_id=rng.choice(channel_ids))
            batch.append(t.UpdateNewChannelMessage(
                message=message(t, rng, 900_000 + i, channel_peer, date, user_ids, channel_ids),
                pts=rng.randint(10_000, 90_000), pts_count=1))
        elif kind == 4:
            pts += 1
            batch.append(t.UpdateReadHistoryInbox(peer=peer, max_id=60_000 + i,
                                                  still_unread_count=rng.randint(0, 5),
                                                  pts=pts, pts_count=1))
        elif kind == 5:
            batch.append(t.UpdateUserStatus(
                user_id=rng.choice(user_ids[1:]),
                status=t.UserStatusOnline(expires=date + 300) if rng.random() < 0.5
                else t.UserStatusOffline(was_online=date)))
        elif kind == 7:
            count = rng.randint(1, 4)
            pts += count
            batch.append(t.UpdateDeleteMessages(
                messages=[58_000 + rng.randrange(900) for _ in range(count)],
                pts=pts, pts_count=count))
        elif kind == 8:
            batch.append(t.UpdateUserTyping(user_id=rng.choice(user_ids[1:]),
                                            action=t.SendMessageTypingAction()))
        else:
            batch.append(t.UpdateReadChannelInbox(channel_id=rng.choice(channel_ids),
                                                  max_id=900_000 + i, still_unread_count=0,
                                                  pts=rng.randint(10_000, 90_000)))
        if kind == 9 and rng.random() < 0.7:
            batch.append(t.UpdateMessageReactions(peer=peer, msg_id=59_500 + i,
                                                  reactions=reactions(t, rng)))
    return t.Updates(updates=batch, users=users, chats=chat_list, date=date, seq=0)


SEND_MESSAGE_TEXT = (
    "Release 2.4 is out: the codec now covers the whole layer. Changelog: "
    "https://github.com/example/tlcodec/releases — thanks @alice_in_wonderland for the review! "
    "Upgrade with pip install -U tlcodec and run the benchmarks; "
    "details in the docs. #release 🎉"
)


def entity_spans(body: str, fragments: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """(offset, length) in UTF-16 code units of each fragment's first occurrence in `body`."""
    return tuple((utf16_len(body[:body.index(f)]), utf16_len(f)) for f in fragments)


# Where the entities of SEND_MESSAGE_TEXT fall, computed once: building the request then does
# only what a client does (make the objects), the same on both sides.
BOLD, URL, MENTION, MENTION_NAME, CODE, TEXT_URL, HASHTAG = entity_spans(SEND_MESSAGE_TEXT, (
    "Release 2.4", "https://github.com/example/tlcodec/releases", "@alice_in_wonderland",
    "the review", "pip install -U tlcodec", "the docs", "#release"))


def send_message_request(t: ModuleType, send_message: type) -> Any:
    """messages.sendMessage to a channel, replying to a message, with seven entities (bold,
    url, mention, a mention by InputUser, code, a text link, a hashtag)."""
    return send_message(
        peer=t.InputPeerChannel(channel_id=1_650_000_001, access_hash=-4_611_686_018_427_387_904),
        message=SEND_MESSAGE_TEXT, random_id=-3_141_592_653_589_793_238,
        reply_to=t.InputReplyToMessage(reply_to_msg_id=48_211),
        entities=[
            t.MessageEntityBold(offset=BOLD[0], length=BOLD[1]),
            t.MessageEntityUrl(offset=URL[0], length=URL[1]),
            t.MessageEntityMention(offset=MENTION[0], length=MENTION[1]),
            t.InputMessageEntityMentionName(
                offset=MENTION_NAME[0], length=MENTION_NAME[1],
                user_id=t.InputUser(user_id=5_912_345_678,
                                    access_hash=-6_148_914_691_236_517_206)),
            t.MessageEntityCode(offset=CODE[0], length=CODE[1]),
            t.MessageEntityTextUrl(offset=TEXT_URL[0], length=TEXT_URL[1],
                                   url="https://tlcodec.example/docs"),
            t.MessageEntityHashtag(offset=HASHTAG[0], length=HASHTAG[1]),
        ],
        no_webpage=True,
    )


def traced_bytes_per_message(decode: Callable[[bytes], Any], history: bytes,
                             copies: int = 10) -> float:
    """Traced bytes that one decoded `message` keeps alive (its fields, entities, media, ...).

    `history` is a `messages.messages`; it is decoded `copies` times and only the `messages`
    lists are kept (users and chats are freed), so the figure is the messages' own memory
    divided by their number. Several copies make the free lists of small objects (which serve
    a few dozen objects without a traced allocation) a negligible part of the figure. A first,
    untraced decode leaves out one-time caches.
    """
    decode(history)

    def decode_and_keep_messages() -> list[list[Any]]:
        return [decode(history).messages for _ in range(copies)]

    use = memory_use(decode_and_keep_messages)
    return use.retained / sum(len(messages) for messages in use.result)
