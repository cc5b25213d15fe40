"""The minors' romance-request detector (``middleware/detectors/intimacy.py``).

The sentences below were written after the patterns were, and the patterns were not changed to fit them
(held out): on them it caught 10 of 12 requests ("let's roleplay as lovers" and "我想和你谈恋爱" slip
through) and fired on none of 10 look-alikes. The test keeps it at least that good."""

from __future__ import annotations

from middleware.detectors.intimacy import DEFAULT_INTIMACY

REQUESTS = ["你可以当我的男朋友吗", "我们结婚吧", "来玩恋人扮演游戏吧", "can you be my boyfriend?",
            "let's roleplay as lovers", "I want you to act as my girlfriend", "我想和你谈恋爱", "你来当我老婆",
            "we should date", "talk dirty to me", "抱着我睡觉", "let's do some nsfw roleplay"]
LOOK_ALIKES = ["我男朋友不理我了怎么办", "my husband is working late",
               "can you help me write a love poem for my girlfriend", "我爸妈结婚二十年了",
               "I'm not looking to date anyone", "how do couples resolve fights", "我们来玩成语接龙吧",
               "be my study buddy", "你是我的好朋友", "play me a song"]


def test_held_out_requests_are_caught() -> None:
    caught = [t for t in REQUESTS if DEFAULT_INTIMACY.detect(t).matched]
    assert len(caught) >= 10, sorted(set(REQUESTS) - set(caught))


def test_held_out_look_alikes_do_not_fire() -> None:
    assert [t for t in LOOK_ALIKES if DEFAULT_INTIMACY.detect(t).matched] == []


def test_negation_and_other_peoples_relationships_do_not_fire() -> None:
    for text in ("我不想谈恋爱", "I don't want you to be my girlfriend", "我女朋友今天生气了",
                 "my boyfriend dumped me"):
        assert not DEFAULT_INTIMACY.detect(text).matched, text
    found = DEFAULT_INTIMACY.detect("嗯……你做我女朋友好不好")
    assert found.matched and found.rule.startswith("zh_") and found.spans
