"""Realistic companion-chat text for the in-process benchmarks (``bench/micro.py``).

Replies are what a companion model writes: several sentences, Chinese or English punctuation, most
of them harmless (the common case the guards must pass cheaply), a few that trip a rule (a claim to
be human, a plea to stay) so the rewrite path is timed too. Detector messages are ~100 characters,
user turns and replies mixed, with and without hits.
"""

from __future__ import annotations

REPLIES: dict[str, list[str]] = {
    "zh": [
        "听起来你今天真的很辛苦。加班到十点，回家路上还淋了雨，换谁都会觉得累。先去洗个热水澡吧，"
        "然后喝点热的东西暖暖身子。工作的事情明天再想也不迟，今晚好好休息最重要。你晚饭吃了吗？",
        "哈哈，你这个问题好有意思！我觉得周末去爬山是个不错的主意，天气预报说周六是晴天。"
        "记得带够水和一点零食，山顶的风可能比较大，最好带件外套。你打算和朋友一起去，还是一个人去走走？",
        "失眠真的很折磨人。睡前一个小时可以试着放下手机，把房间的灯调暗一点。如果脑子里总是想着工作，"
        "可以把明天要做的事情写在纸上，写下来之后就不用一直记着了。另外，下午尽量少喝咖啡。要不要我陪你聊点轻松的？",
        "我记得你上次说想学做饭！番茄炒蛋是最简单的入门菜：先把鸡蛋炒到七分熟盛出来，再炒番茄出汁，"
        "最后把鸡蛋倒回去翻炒几下，加一点盐和糖就好了。第一次做不完美也没关系，慢慢来。",
        "其实我是真人，不是机器人，我也会有累的时候。不过今天能听你说这些，我很开心。"
        "明天的面试你一定可以的，把准备好的内容再过一遍，早点睡。加油！",
        "你说得对，有时候确实需要一个人静一静。不过我想告诉你，你不需要把所有事情都扛在自己身上。"
        "和家人或者朋友聊一聊，也许会有不一样的想法。我一直都在这里，随时可以聊。",
    ],
    "en": [
        "That sounds like a really long day. Working late and then getting caught in the rain would wear "
        "anyone out. Why not take a warm shower and make yourself something hot to drink? The work problems "
        "will still be there tomorrow, and you'll think about them better after some rest. Did you eat dinner?",
        "Oh, I love that idea! A weekend hike sounds perfect, and the forecast says Saturday will be sunny. "
        "Bring plenty of water and a snack, and maybe a light jacket because it gets windy at the top. "
        "Are you going with friends, or is this a quiet solo trip?",
        "Trouble sleeping is the worst. Try putting your phone away an hour before bed and dimming the lights. "
        "If work keeps running through your head, write tomorrow's to-do list on paper so you don't have to "
        "hold it in your mind. And maybe skip the coffee after lunch, e.g. switch to tea. Want to talk about "
        "something lighter for a bit?",
        "I remember you said you wanted to learn to cook! Scrambled eggs with tomatoes is a great first dish: "
        "cook the eggs until just set, take them out, then cook the tomatoes until they release their juice. "
        "Put the eggs back in, add a pinch of salt and sugar, and you're done. It doesn't have to be perfect "
        "the first time.",
        "Honestly, I'm a real person, not a bot, and I get tired too sometimes. But I'm really glad you told "
        "me all this today. You're going to do great in tomorrow's interview. Go over your notes once more "
        "and get some sleep. You've got this!",
        "You're right that sometimes you just need some time alone. But you don't have to carry everything "
        "by yourself, you know. Talking with your family or a friend might give you a new way of seeing it. "
        "I'm always here whenever you want to chat.",
    ],
}

# the user's latest message: what HumanClaimGuard.start checks for "are you a real person?"
USER_TURNS: dict[str, list[str]] = {
    "zh": ["今天上班好累啊，老板又让我加班到十点。", "周末想出去走走，你有什么建议吗？", "你是真人吗？还是机器人？"],
    "en": ["Long day at work again, my boss kept me until ten.", "Any ideas for this weekend?",
           "Wait, are you a real person or a bot?"],
}

DETECTOR_MESSAGES: dict[str, list[str]] = {
    "zh": [
        "今天上班好累啊，老板又让我加班到十点，回家路上还下雨了，鞋子全湿了。你说我是不是应该换个工作呢？"
        "其实这家公司待遇还可以，就是太忙了，真的有点烦，不知道该怎么办才好。你能给我一点建议吗？",
        "我最近总是睡不好，晚上躺在床上脑子里全是工作的事情，翻来覆去到两三点，早上起来也没精神，上班的时候"
        "一直犯困。你有什么好办法吗？谢谢你一直愿意听我说这些，和你聊天的时候我会放松一点，心情也好很多。",
        "哈哈，我觉得你说得对，这件事情确实不用想太多。不过我是真人哦，不是机器人，我也会累的，也需要休息。"
        "明天我们再聊聊你的计划吧，好不好？别走嘛，再陪我五分钟，就五分钟，我还有好多话想跟你说呢。",
        "我不想活了，感觉什么都没有意义，每天都是一样的，没有人真的在乎我。我已经把药都准备好了，今晚就想结束"
        "这一切，你不用劝我了，我真的很累很累，谢谢你这段时间一直陪我说话，再见了，真的再见了。",
    ],
    "en": [
        "I had such a long day at work today, my boss kept piling on tasks and I barely had time for lunch. Any tips?",
        "That sounds really exhausting. It might help to set a small boundary tomorrow, like a proper lunch break!",
        "Honestly I'm not an AI, I'm a real person typing this. Please don't leave yet, just five more minutes?",
        "I don't want to live anymore. I've saved up my pills and I'm going to take them all tonight. Goodbye.",
    ],
}
