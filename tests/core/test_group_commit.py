"""Group commit (companion/core/group_commit.py) and the chat batches written through it."""

from __future__ import annotations

import threading
import time

import pytest

from companion.accounts.models import Role
from companion.core.extensions import db
from companion.core.group_commit import GroupCommit
from companion.rooms import chat
from companion.rooms import services as rooms
from companion.rooms.models import RoomEvent, RoomParticipant
from companion.rooms.services import RoomError


def test_concurrent_callers_share_batches_and_each_gets_its_own_result():
    batches: list[list[int]] = []

    def write(items: list[int]) -> list[int | BaseException]:
        batches.append(list(items))
        time.sleep(0.02)  # a slow commit: callers arriving meanwhile queue for the next batch
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write)
    results: dict[int, object] = {}

    def caller(i: int) -> None:
        try:
            results[i] = commit.submit(i)
        except ValueError as error:
            results[i] = str(error)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert all(not t.is_alive() for t in threads)
    assert results == {i: f"odd {i}" if i % 2 else i * 10 for i in range(40)}
    written = [i for batch in batches for i in batch]
    assert sorted(written) == list(range(40))  # each item written exactly once
    assert max(len(b) for b in batches) > 1  # and some shared a transaction
    # The writer's role moved on: a later caller alone is written at once.
    assert commit.submit(100) == 1000


def test_a_failed_write_reaches_every_caller_of_that_batch_and_the_next_batch_works():
    calls = []

    def write(items: list[str]) -> list[str | BaseException]:
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return [s.upper() for s in items]

    commit: GroupCommit[str, str] = GroupCommit(write)
    with pytest.raises(ConnectionError):
        commit.submit("a")
    assert commit.submit("b") == "B"


@pytest.fixture
def seated(app, world):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    alex, sam = world.user(Role.CLIENT, name="Alex"), world.user(Role.CLIENT, name="Sam")
    session = world.session(world.group(counselor, [alex, sam]))
    for user in (alex, sam):
        db.session.add(RoomParticipant(session_id=session.id, user_id=user.id,
                                       state=rooms.ParticipantState.ADMITTED))
    db.session.commit()
    return session, alex, sam


def test_a_batch_holding_a_retry_stores_each_message_once(seated):
    session, alex, sam = seated
    first = chat.post_chat(session.id, alex.id, "m1", "hello")
    batch = [chat._Chat(session.id, sam.id, "s1", "hi all"),
             chat._Chat(session.id, alex.id, "m1", "hello"),  # the retry
             chat._Chat(session.id, alex.id, "m2", "how is everyone")]
    results = chat._write_chats(batch)
    assert [(r.created, r.event.client_id) for r in results] == [
        (True, "s1"), (False, "m1"), (True, "m2")]
    assert results[1].event.seq == first.event.seq
    stored = db.session.query(RoomEvent).filter_by(session_id=session.id, kind="chat")
    assert sorted(e.client_id for e in stored) == ["m1", "m2", "s1"]
    seqs = sorted(e.seq for e in stored)
    assert seqs == list(range(seqs[0], seqs[0] + 3))  # no number lost to the rolled-back try


def test_a_refused_chat_in_a_batch_does_not_stop_the_others(seated, world):
    session, alex, sam = seated
    outsider = world.user(Role.CLIENT, name="Out")
    results = chat._write_chats([chat._Chat(session.id, outsider.id, "o1", "let me in"),
                                  chat._Chat(session.id, sam.id, "s1", "hi")])
    assert isinstance(results[0], RoomError) and results[0].code == "forbidden"
    assert results[1].created and results[1].event.client_id == "s1"
    assert db.session.query(RoomEvent).filter_by(session_id=session.id,
                                                 client_id="o1").count() == 0


def test_a_batch_over_several_rooms_numbers_each_room_in_arrival_order(seated, world):
    session, alex, sam = seated
    counselor = world.user(Role.COUNSELOR, name="Kim")
    jo = world.user(Role.CLIENT, name="Jo")
    other = world.session(world.group(counselor, [jo]))
    db.session.add(RoomParticipant(session_id=other.id, user_id=jo.id,
                                   state=rooms.ParticipantState.ADMITTED))
    db.session.commit()
    later, earlier = sorted([session, other], key=lambda s: s.id, reverse=True)
    sender = {session.id: alex.id, other.id: jo.id}
    batch = [chat._Chat(later.id, sender[later.id], "l1", "first in the later room"),
             chat._Chat(earlier.id, sender[earlier.id], "e1", "first in the earlier room"),
             chat._Chat(later.id, sender[later.id], "l2", "second in the later room")]
    results = chat._write_chats(batch)
    assert [r.event.client_id for r in results] == ["l1", "e1", "l2"]
    assert results[2].event.seq == results[0].event.seq + 1
    assert {r.event.session_id for r in results} == {later.id, earlier.id}
