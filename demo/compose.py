"""Compose zooprep's embedded demo corpus: original Chinese text, each family in its on-disk layout.

Every sentence is assembled from the hand-written word lists and templates below (written for this
project, not taken from any corpus), with a seeded RNG, so the output is byte-identical on every run:

    python demo/compose.py                 # (re)write the files next to this script
    python demo/compose.py --out /tmp/demo # write elsewhere (tests compare the two)
    python demo/compose.py --check         # exit 1 if the committed files differ from a fresh run

A few records per file are deliberately dirty (HTML entities, URLs, full-width ASCII, emoji,
zero-width characters, exact duplicates) and one file is GB18030 with CRLF, so cleaning has work.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# Word lists (modern prose)
# ---------------------------------------------------------------------------------------------
PEOPLE = ["小王", "李老师", "张师傅", "陈阿姨", "一位年轻的工程师", "几名大学生", "社区志愿者", "村里的老人",
          "店主老刘", "研究团队", "一位退休教师", "赵医生", "孙同学", "快递小哥", "图书管理员", "当地农户",
          "周记者", "两位设计师", "林教练", "合唱团的成员"]
PLACES = ["城东社区", "江边公园", "老街口", "市图书馆", "菜市场", "高铁站", "山区小学", "科技园", "河口镇",
          "博物馆", "青石村", "湖畔广场", "新区医院", "大学城", "旧码头", "文化馆", "果园", "体育中心",
          "南门夜市", "海滨步道"]
TIMES = ["昨天上午", "今年春天", "上周末", "近日", "去年冬天", "本月初", "傍晚时分", "国庆假期期间",
         "清晨六点", "前不久", "今年夏天", "每逢周三"]
ACTIONS = ["举办了一场读书分享会", "修好了那座旧木桥", "种下了一片桃树", "开通了一条新的公交线路",
           "发布了年度调查报告", "整理出一批老照片", "开设了免费的书法课", "组织了一次环湖徒步",
           "搭起了临时的便民服务点", "完成了屋顶的防水改造", "办起了周末手工市集", "测试了新的灌溉设备",
           "举行了小型音乐会", "清理了河道里的垃圾", "开放了新的阅览区", "收获了第一批草莓"]
RESULTS = ["现场气氛十分热烈", "吸引了不少附近的居民", "大家都觉得很有意义", "效果比预期还要好",
           "仍有一些细节需要改进", "参与人数创下了新高", "得到了许多家长的支持", "不少人专程赶来",
           "孩子们玩得非常开心", "附近的商户也跟着受益"]
ORGS = ["区文化局", "项目负责人", "街道办事处", "主办方", "学校工作人员", "合作社理事长", "市交通部门"]
PROJECTS = ["老旧小区改造", "社区食堂", "乡村阅读角", "雨水花园", "公共自行车点", "夜间巴士",
            "智慧停车系统", "河道绿化带"]
PROGRESS = ["进入收尾阶段", "完成了大半", "通过了验收", "开始试运行", "完成了第一期工程"]
FUTURES = ["下个月正式投入使用", "年底前全部完工", "明年春天对外开放", "暑假前覆盖全部街区"]
QUOTES = ["这件事我们会一直做下去", "希望更多人能参与进来", "每一点变化大家都看得见",
          "我们还会听取居民的意见", "比起去年，今年顺利多了", "做好小事就是做好大事"]
TOPICS = ["怎样在家里养好绿萝", "第一次去外地上大学要准备什么", "旧手机还能做哪些用途",
          "周末带孩子去哪里玩比较好", "如何坚持每天早起", "学做饭从哪道菜开始", "租房时要注意什么",
          "跑步膝盖疼怎么办", "怎样挑选一只好西瓜", "自学画画需要多久"]
ANSWERS = ["我的经验是先从简单的开始，不要一下子给自己太大压力", "可以多问问身边有经验的朋友",
           "关键是找到适合自己的节奏", "网上的方法很多，但最好先小范围试一试",
           "每天坚持十分钟，比偶尔花一整天更有用", "准备一个小本子，把遇到的问题都记下来",
           "不必追求一步到位，慢慢调整就好", "注意休息，身体比什么都重要"]
FOODS = ["牛肉面", "糖醋排骨", "酸菜鱼", "小笼包", "凉皮", "煲仔饭", "麻辣香锅", "鲜虾馄饨", "烤鸭", "豆花"]
GOOD = ["味道很正宗", "分量足，价格也实惠", "服务员态度很好", "上菜速度快", "环境干净整洁",
        "老板很热情", "包装仔细，送到还是热的", "性价比很高，还会再来"]
BAD = ["等了快一个小时", "味道偏咸", "分量比图片上少很多", "服务员爱答不理", "桌子油腻腻的",
       "送来的时候已经凉了", "价格有点贵", "和描述的不太一样"]
HOTEL_GOOD = ["房间宽敞明亮", "床很舒服，睡得很好", "早餐种类丰富", "离地铁站很近，出行方便",
              "前台办理入住很快", "隔音效果不错", "窗外就能看到湖景", "卫生间干净，热水充足"]
HOTEL_BAD = ["空调声音太大", "隔音很差，一晚上没睡好", "早餐品种太少", "房间有一股霉味",
             "停车位很难找", "网络时断时续", "前台排队等了很久", "毛巾看起来不太干净"]
BOOK_GOOD = ["故事结构精巧，读完还想再读一遍", "作者的文字朴素却很有力量", "人物写得很立体",
             "翻译流畅，读起来一点不费劲", "适合在安静的夜晚慢慢读"]
BOOK_BAD = ["情节拖沓，读到一半就放下了", "观点重复，像是凑字数", "排版太密，看得眼睛累",
            "结尾草草收场，很失望", "印刷质量一般，还有错别字"]
WEIBO_EVENTS = ["终于把拖了一个月的报告交了", "下班路上看到了超级好看的晚霞", "家里的猫又把花盆打翻了",
                "第一次自己包饺子", "排队两个小时买到了新出的奶茶", "在地铁上睡过了站",
                "考试成绩出来了", "收到了朋友寄来的明信片", "早上起床发现外面下雪了",
                "加班到现在还没吃饭", "今天跑完了人生第一个十公里", "又双叒叕忘带钥匙了"]
WEIBO_FEEL = ["开心到转圈", "有点想哭", "真是气死我了", "整个人都不好了", "太幸福了吧", "心累",
              "惊呆了", "有点害怕", "希望明天会更好", "笑死我了"]
WEIBO_WHEN = ["", "", "今天", "刚刚", "周一早上", "半夜", "午休时", "下班后", "周末", "昨晚"]
WEIBO_TAILS = ["，这是本周第{n}次了", "，谁懂啊", "，明天继续", "。等了{n}分钟", "，记录一下", "，有人一起吗",
               "。第{n}天打卡", "，快夸我", "，就这样吧", "，先睡了", "。{n}岁的我还是这样"]
REVIEW_OPENERS = ["住了{n}晚", "第{n}次来了", "出差住的", "带孩子来的", "朋友推荐的", "提前{n}天订的",
                  "总体来说", "说实话"]
EMOTICONS = ["[哈哈]", "[心]", "[泪]", "[怒]", "[偷笑]", "[赞]", "[允悲]", "[doge]"]
HASHTAGS = ["#周末去哪儿#", "#今日份快乐#", "#打工人日常#", "#晒晒我的猫#", "#考试加油#"]
USERS = ["@晴天小熊", "@爱吃橘子的鱼", "@城南旧事er", "@跑步的阿杰", "@一颗柠檬茶"]
WEIBO_LABELS_TSV = [0, 1, 2, 3, 4, 5]
WEIBO_LABELS_JSON = ["like", "happiness", "sadness", "anger", "disgust", "fear", "surprise"]
WIKI_TOPICS = [("青石河", "河流", "发源于北部山地，向东南流经三个县，最终汇入大湖"),
               ("云岭镇", "乡镇", "地处丘陵地带，以茶叶和竹编闻名"),
               ("铜铃花", "植物", "多年生草本，花朵下垂，形状像一只小铃铛"),
               ("北湾灯塔", "建筑", "建于海湾北侧的礁石上，塔身为白色圆柱形"),
               ("算盘", "计算工具", "由框、梁、档和珠子组成，通过拨动珠子完成计算"),
               ("长尾山雀", "鸟类", "体形小巧，尾羽很长，常成群在林间活动"),
               ("星火中学", "学校", "创办于上世纪五十年代，校园内保留着一座老钟楼"),
               ("竹编", "传统手工艺", "以竹篾为原料，编成篮、席、灯罩等日用品"),
               ("银杏大道", "街道", "两侧种满银杏树，每到秋季满地金黄"),
               ("糯米糍", "小吃", "用糯米粉包裹甜馅制成，外面常裹一层椰丝")]
WIKI_SECTIONS = ["历史", "地理", "特征", "文化", "现状", "参见"]
LYRIC_LINES = ["风吹过那条熟悉的街", "我把心事写在信里", "你说明天会更好", "夜空里有一颗星星在等",
               "雨停了我还在原地", "想念像一首没唱完的歌", "旧车站的灯又亮起来", "我们笑着说再见",
               "把时间留给晚风", "城市很大我只想你", "天亮以前不要走", "海浪一遍遍拍打岸边",
               "那年夏天的蝉鸣", "你的名字我轻轻念", "我们都曾年少轻狂", "走过的路都算数"]

# ---------------------------------------------------------------------------------------------
# Word lists (classical)
# ---------------------------------------------------------------------------------------------
POEM_2 = ["春山", "孤舟", "寒江", "明月", "落花", "归雁", "残阳", "疏钟", "野径", "空庭", "清泉", "古道",
          "秋风", "长亭", "烟柳", "远岫", "青松", "白云", "渔火", "梅花", "夜雨", "西楼", "故园", "晴川"]
POEM_3 = ["照青苔", "入远林", "送客归", "满西楼", "落晚风", "隔水声", "过小桥", "映碧流", "绕柴门",
          "向东流", "伴月明", "掩重门", "上高台", "带晓霜", "落衣襟", "动客心", "别离情", "听钟声"]
POEM_5B = ["何处是归程", "独坐到天明", "相思寄远人", "一醉忘浮名", "闲看白云生", "欲语已忘言",
           "归梦绕江城", "春色满山城", "长歌送晚晴", "花落又一年"]
POEM_AUTHORS = ["林晚", "周清远", "沈听松", "陆归舟", "顾长风", "许青川", "柳疏桐", "宋明溪"]
POEM_TITLES = ["山行", "夜泊", "送别", "秋思", "春望", "江上", "题壁", "登楼", "闲居", "寄友"]
CI_TUNES = ["浣溪沙", "蝶恋花", "临江仙", "鹧鸪天", "清平乐", "如梦令"]
# A small simplified -> traditional map for the characters of the word lists above, so the
# Tang-style file is stored in traditional script as its original collection is.
TRAD = dict(zip("风归远门楼钟云东飞长见马鸟听梦乡书灯烟亲陈张刘闲边过万间来时处对声华叶泪尽开关红绿岁满晓乐独临双静无与还应从经问旧树惊阳凤龙鸣鱼桥寻兴轻残苍乱觉亭诗词远岫渔园许顾陆沈晚绕径语题台",
                "風歸遠門樓鐘雲東飛長見馬鳥聽夢鄉書燈煙親陳張劉閒邊過萬間來時處對聲華葉淚盡開關紅綠歲滿曉樂獨臨雙靜無與還應從經問舊樹驚陽鳳龍鳴魚橋尋興輕殘蒼亂覺亭詩詞遠岫漁園許顧陸沈晚繞徑語題臺"))
COUPLET_2 = [("春风", "秋月"), ("绿柳", "红花"), ("山高", "水长"), ("雪白", "梅红"), ("书香", "墨韵"),
             ("天高", "地厚"), ("花开", "鸟语"), ("云淡", "风轻"), ("竹报", "梅开"), ("河清", "海晏"),
             ("门迎", "户纳"), ("春暖", "秋高"), ("桃红", "柳绿"), ("水秀", "山青"), ("人勤", "地沃"),
             ("千里", "万家"), ("晨钟", "暮鼓"), ("江南", "塞北"), ("燕舞", "莺歌"), ("松青", "竹翠"),
             ("日暖", "风和"), ("家和", "人寿"), ("新岁", "良辰"), ("星稀", "月朗")]
COUPLET_3 = [("迎新岁", "报好春"), ("照大地", "润人心"), ("添喜气", "纳吉祥"), ("传佳话", "写新篇"),
             ("连四海", "通五湖"), ("歌盛世", "颂丰年"), ("入画卷", "上诗笺"), ("留古韵", "展新颜"),
             ("千门暖", "万户春"), ("书声远", "墨香浓"), ("百花艳", "五谷丰"), ("江山秀", "日月明")]
ANCIENT_SUBJ = ["君子", "小人", "圣人", "贤者", "为政者", "学者", "古之善战者", "治国者"]
ANCIENT_VERB = ["学而不厌", "敏于事而慎于言", "先其言而后从之", "务本而不务末", "知止而后有定",
                "以德服人", "不患人之不己知", "见贤思齐", "居安思危", "守其中而行其正"]
ANCIENT_TAIL = ["此之谓也", "可谓知矣", "其庶几乎", "斯可矣", "何远之有", "不亦善乎"]
ANCIENT_SPEAKERS = ["子曰：", "孟子曰：", "或问曰：", "先生曰：", "客曰："]
ANCIENT_BOOKS = {"修身篇": ["第一章", "第二章", "第三章", "第四章", "第五章"],
                 "治国篇": ["上篇", "中篇", "下篇"], "兵略": ["计篇", "势篇", "形篇", "虚实篇"],
                 "杂记": ["卷一", "卷三", "卷四"], "问学录": ["学而", "为政", "里仁", "述而"]}

# Records the filters should drop: too short, little Chinese, character spam, link-only.
JUNK = ["转发微博", "好", "哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈哈[哈哈]", "http://t.cn/A6xQ2kLm", "ok ok ok ok ok ok",
        "啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊啊", "good good study, day day up!!!", "。。。。。。", "666666666666"]
FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"})
EMOJI = ["😂", "👍", "🎉", "😭", "❤️", "🌸", "🐱", "☀️"]


def _unique(make):
    """Redraw a generated item until it is new for this composer, so the only exact duplicates in
    the demo are the ones placed on purpose (``_with_duplicates``)."""

    def fresh(self, *args):
        for _ in range(100):
            item = make(self, *args)
            key = repr(item[1] if make.__name__ == "review" else item)
            if key not in self.seen:
                break
        self.seen.add(key)
        return item

    fresh.__name__ = make.__name__
    return fresh


class Composer:
    """All randomness goes through one seeded RNG, drawn in a fixed order: same seed, same bytes."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.seen: set[str] = set()

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # -- modern prose ------------------------------------------------------------------------
    def sentence(self) -> str:
        r, p = self.rng.randrange(6), self.pick
        if r == 0:
            return f"{p(TIMES)}，{p(PEOPLE)}在{p(PLACES)}{p(ACTIONS)}，{p(RESULTS)}。"
        if r == 1:
            return f"据{p(ORGS)}介绍，{p(PLACES)}的{p(PROJECTS)}项目已经{p(PROGRESS)}，预计{p(FUTURES)}。"
        if r == 2:
            return f"{p(PEOPLE)}说：“{p(QUOTES)}。”"
        if r == 3:
            n = self.rng.randrange(12, 980)
            return f"目前已有{n}户居民报名，比去年增加了{self.rng.randrange(3, 60)}%。"
        if r == 4:
            return f"{p(PLACES)}附近新开了一家{p(FOODS)}店，{p(GOOD)}，不过{p(BAD)}。"
        return f"{p(TIMES)}的{p(PLACES)}格外热闹，{p(RESULTS)}！"

    def news_doc(self) -> tuple[str, list[str]]:
        head = f"{self.pick(PLACES)}{self.pick(ACTIONS)}"
        body = [self.sentence() for _ in range(self.rng.randrange(3, 8))]
        return head, body

    def web_doc(self) -> list[str]:
        q = self.pick(TOPICS)
        return [f"{q}？", f"最近一直在想{q}，求有经验的朋友指点。"] + \
            [f"{a}。" for a in self.rng.sample(ANSWERS, self.rng.randrange(1, 4))]

    def comment_doc(self) -> list[str]:
        food = self.pick(FOODS)
        parts = [f"点了一份{food}，{self.pick(GOOD)}。"]
        parts += [f"{self.pick(GOOD if self.chance(0.6) else BAD)}。" for _ in range(self.rng.randrange(1, 3))]
        return parts

    @_unique
    def clue_doc(self) -> list[str]:
        """One CLUECorpusSmall-style document as sentences (news, web Q&A or a comment)."""
        kind = self.rng.randrange(3)
        if kind == 0:
            head, body = self.news_doc()
            return [head, f"原标题：{head}"] + body
        return self.web_doc() if kind == 1 else self.comment_doc()

    # -- dirt --------------------------------------------------------------------------------
    def dirty(self, text: str, kinds=("html", "url", "fullwidth", "emoji", "zerowidth")) -> str:
        kind = self.pick(kinds)
        if kind == "html":
            return text.replace("，", "&nbsp;，", 1) + self.pick(["&amp;更多", "<br>", "&quot;转载&quot;", "&lt;完&gt;"])
        if kind == "url":
            return text + self.pick([" http://t.cn/A6x" + str(self.rng.randrange(1000, 9999)),
                                     "详情见https://www.example.com/news/" + str(self.rng.randrange(100, 999)) + ".html",
                                     "联系邮箱demo" + str(self.rng.randrange(10, 99)) + "@example.org"])
        if kind == "fullwidth":
            return text + ("NBA" + str(self.rng.randrange(2000, 2030)) + "Wifi").translate(FULLWIDTH)
        if kind == "emoji":
            return text + self.pick(EMOJI) + self.pick(EMOJI)
        return text[:2] + "\u200b" + text[2:] + "\u3000"

    def maybe_dirty(self, text: str, p: float = 0.08, **kw) -> str:
        return self.dirty(text, **kw) if self.chance(p) else text

    def maybe_junk(self, text: str, p: float = 0.03) -> str:
        return self.pick(JUNK) if self.chance(p) else text

    # -- weibo / reviews ---------------------------------------------------------------------
    @_unique
    def weibo_post(self) -> str:
        text = f"{self.pick(WEIBO_WHEN)}{self.pick(WEIBO_EVENTS)}，{self.pick(WEIBO_FEEL)}{self.pick(EMOTICONS)}"
        if self.chance(0.6):
            text += self.pick(WEIBO_TAILS).format(n=self.rng.randrange(2, 99))
        if self.chance(0.2):
            text = f"{self.pick(HASHTAGS)}{text}"
        if self.chance(0.2):
            text = f"{text}//{self.pick(USERS)}:{self.pick(WEIBO_FEEL)}{self.pick(EMOTICONS)}"
        if self.chance(0.1):
            text = f"{self.pick(USERS)} {text}"
        return text

    @_unique
    def review(self, good: list[str], bad: list[str]) -> tuple[int, str]:
        label = 1 if self.chance(0.5) else 0
        pool = good if label else bad
        parts = self.rng.sample(pool, self.rng.randrange(1, 4))
        if self.chance(0.5):
            parts.insert(0, self.pick(REVIEW_OPENERS).format(n=self.rng.randrange(2, 30)))
        return label, "，".join(parts) + self.pick(["。", "！", "。。", "~"])

    # -- classical ---------------------------------------------------------------------------
    def poem_lines(self, n_pairs: int) -> list[str]:
        out = []
        for _ in range(n_pairs):
            a = self.pick(POEM_2) + self.pick(POEM_3)
            b = self.pick(POEM_5B) if self.chance(0.5) else self.pick(POEM_2) + self.pick(POEM_3)
            out.append(f"{a}，{b}。")
        return out

    @_unique
    def couplet(self) -> tuple[str, str]:
        n2 = self.rng.choice([1, 2, 2, 3])
        pairs = [self.pick(COUPLET_2) for _ in range(n2)] + [self.pick(COUPLET_3)]
        return "".join(p[0] for p in pairs), "".join(p[1] for p in pairs)

    def ancient_para(self) -> str:
        parts = [f"{self.pick(ANCIENT_SUBJ)}{self.pick(ANCIENT_VERB)}" for _ in range(self.rng.randrange(2, 5))]
        speaker = self.pick(ANCIENT_SPEAKERS)
        return f"{speaker} “{'，'.join(parts)}，{self.pick(ANCIENT_TAIL)}。”"


def to_trad(text: str) -> str:
    return "".join(TRAD.get(c, c) for c in text)


# ---------------------------------------------------------------------------------------------
# File writers: each returns {relative path: bytes}
# ---------------------------------------------------------------------------------------------
def _csv_bytes(rows: list[list], lineterminator: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
    w.writerows(rows)
    return buf.getvalue()


def _with_duplicates(c: Composer, items: list, share: float = 0.03) -> list:
    """Re-insert a few earlier items verbatim (exact duplicates, as real corpora have)."""
    out = list(items)
    for _ in range(max(1, int(len(items) * share))):
        out.insert(c.rng.randrange(len(out) + 1), c.pick(items))
    return out


def compose_cluecorpussmall(c: Composer) -> dict[str, bytes]:
    docs = [[c.maybe_dirty(s, 0.03) for s in c.clue_doc()] for _ in range(300)]
    docs = _with_duplicates(c, docs)
    one_per_line = "".join("".join(d) + "\n" for d in docs)
    # BERT layout: one sentence per line, an empty line after each document (file ends with it).
    sentences = "".join("".join(s + "\n" for s in d) + "\n" for d in docs)
    # CLUE "pre-training format": headline first, single empty line between docs, no final newline.
    news = [c.news_doc() for _ in range(40)]
    news_txt = "\n\n".join(h + "\n" + "\n".join(b) for h, b in news)
    return {"cluecorpussmall/clue_sampled.txt": one_per_line.encode(),
            "cluecorpussmall/clue_bert_sampled.txt": sentences.encode(),
            "cluecorpussmall/news_zh_1.txt": news_txt.encode()}


def compose_wiki(c: Composer) -> dict[str, bytes]:
    lines = []
    for i in range(200):
        title, kind, desc = WIKI_TOPICS[i % len(WIKI_TOPICS)]
        title = title if i < len(WIKI_TOPICS) else f"{title}（{c.pick(['江北', '山南', '东岭', '西坪'])}）"
        paras = [title, f"{title}是一种{kind}，{desc}。" if kind in ("植物", "鸟类", "小吃", "计算工具") else
                 f"{title}是一处{kind}，{desc}。"]
        for sec in c.rng.sample(WIKI_SECTIONS, c.rng.randrange(1, 3)):
            paras += [sec, "".join(c.sentence() for _ in range(c.rng.randrange(1, 4)))]
        text = "\n\n".join(paras)
        if c.chance(0.05):
            text = text.replace("。", "（）。", 1) + "<br>"  # WikiExtractor leftovers
        art = {"id": str(13 + i * 7), "url": f"https://zh.wikipedia.org/wiki?curid={13 + i * 7}", "title": title, "text": text}
        lines.append(json.dumps(art, ensure_ascii=False) + "\n")
    return {"wiki2019zh/wiki_00": "".join(lines).encode()}


def compose_weibo(c: Composer) -> dict[str, bytes]:
    tsv = ["label\ttext_a\n"] + _with_duplicates(c, [
        f"{c.pick(WEIBO_LABELS_TSV)}\t{c.maybe_junk(c.maybe_dirty(c.weibo_post()))}\n" for _ in range(300)])
    senti = [["label", "review"]] + [[1 if c.chance(0.5) else 0, c.maybe_junk(c.maybe_dirty(c.weibo_post()))] for _ in range(300)]
    senti[1][1] = "\ufeff" + senti[1][1]  # a BOM inside the first field, as in the published file
    emotion = [json.dumps({"id": i, "content": c.maybe_dirty(c.weibo_post()), "label": c.pick(WEIBO_LABELS_JSON)},
                          ensure_ascii=False) + "\n" for i in range(300)]
    # GB18030 with CRLF, the DataFountain column layout; emoji lost as '??' like the original.
    gb_rows = [["微博id", "微博发布时间", "发布人账号", "微博中文内容", "微博图片", "微博视频"]]
    for i in range(200):
        text = c.weibo_post() + ("??" if c.chance(0.1) else "")
        pics = "[]" if c.chance(0.7) else f"['https://img.example.com/p/{c.rng.randrange(10**6):06d}.jpg']"
        gb_rows.append([f"{4456068992000000 + i * 37} ", f"0{c.rng.randrange(1, 3)}月{c.rng.randrange(1, 29):02d}日 "
                        f"{c.rng.randrange(24):02d}:{c.rng.randrange(60):02d}", c.pick(USERS)[1:], text, pics, "[]"])
    return {"weibo/train.tsv": "".join(tsv).encode(),
            "weibo/weibo_senti_100k.csv": _csv_bytes(senti).encode(),
            "weibo/emotion_valid.txt": "".join(emotion).encode(),
            "weibo/ncov_10k_test_gb18030.csv": _csv_bytes(gb_rows, "\r\n").encode("gb18030")}


def compose_reviews(c: Composer) -> dict[str, bytes]:
    hotel = [["label", "review"]]
    for i in range(300):
        label, text = c.review(HOTEL_GOOD, HOTEL_BAD)
        if i % 60 == 7:
            text = f"前台说“{c.pick(HOTEL_GOOD)}”,我们就订了\"豪华间\"。\n{text}"  # multi-line field, quotes
        hotel.append([label, c.maybe_dirty(text, kinds=("html", "fullwidth", "emoji"))])
    hotel = [hotel[0]] + _with_duplicates(c, hotel[1:])
    books = []
    for _ in range(300):
        label, text = c.review(BOOK_GOOD, BOOK_BAD)
        books.append(f"{label}\t{c.maybe_junk(c.maybe_dirty(text, kinds=('emoji', 'zerowidth')))}\n")
    waimai = [["label", "review"]] + [list(c.review(GOOD, BAD)) for _ in range(300)]
    return {"reviews/ChnSentiCorp_htl_all.csv": _csv_bytes(hotel).encode(),
            "reviews/book_review_cls.txt": "".join(_with_duplicates(c, books)).encode(),
            "reviews/waimai_10k.csv": _csv_bytes(waimai).encode()}


def compose_poems(c: Composer) -> dict[str, bytes]:
    tang = []
    for i in range(200):
        lines = c.poem_lines(c.rng.choice([2, 4]))
        tang.append({"author": to_trad(c.pick(POEM_AUTHORS)), "paragraphs": [to_trad(x) for x in lines],
                     "title": to_trad(f"{c.pick(POEM_TITLES)}{'其' + '一二三四'[i % 4] if c.chance(0.2) else ''}"),
                     "id": f"demo-tang-{i:04d}"})
    tang_txt = json.dumps(tang, ensure_ascii=False, indent=4)  # 4-space indent, no final newline
    ci = []
    for _ in range(200):
        ci.append({"author": c.pick(POEM_AUTHORS), "paragraphs": c.poem_lines(c.rng.choice([2, 3, 4])),
                   "rhythmic": c.pick(CI_TUNES)})
    # Python-2 json.dumps style: 2-space indent with a trailing space after each comma.
    ci_txt = json.dumps(ci, ensure_ascii=False, indent=2, separators=(", ", ": ")) + "\n"
    return {"poems/poet.tang.0.json": tang_txt.encode(), "poems/ci.song.0.json": ci_txt.encode()}


def compose_couplets(c: Composer) -> dict[str, bytes]:
    pairs = _with_duplicates(c, [c.couplet() for _ in range(300)])
    spaced = lambda s: " ".join(s) + " \n"  # noqa: E731 - characters space-separated, trailing space
    return {"couplets/in.txt": "".join(spaced(a) for a, _ in pairs).encode(),
            "couplets/out.txt": "".join(spaced(b) for _, b in pairs).encode()}


def compose_lyrics(c: Composer) -> dict[str, bytes]:
    lines = []
    for _ in range(40):  # songs run together without boundaries, choruses repeat
        verse = [c.pick(LYRIC_LINES) for _ in range(c.rng.randrange(4, 8))]
        chorus = [c.pick(LYRIC_LINES) + c.pick(["", "\u3000" + c.pick(LYRIC_LINES)]) for _ in range(2)]
        lines += verse + chorus + [x + (" " if c.chance(0.3) else "") for x in chorus]
    return {"lyrics/lyrics.txt": "".join(x + "\n" for x in lines).encode()}


def compose_ancient(c: Composer) -> dict[str, bytes]:
    out = {}
    for book, chapters in ANCIENT_BOOKS.items():
        for chap in chapters:
            paras = [c.ancient_para() + (" " if c.chance(0.5) else "") for _ in range(c.rng.randrange(5, 15))]
            out[f"ancient/古文原文/{book}/{chap}/text.txt"] = "".join(p + "\n" for p in paras).encode()
    out["ancient/古文原文/杂记/卷二/text.txt"] = b""  # an empty chapter file, as in the real collection
    return out


FAMILIES = [compose_cluecorpussmall, compose_wiki, compose_weibo, compose_reviews, compose_poems,
            compose_couplets, compose_lyrics, compose_ancient]


def compose_all(seed: int = SEED) -> dict[str, bytes]:
    """Every demo file as {relative path: bytes}; families draw from their own sub-seed."""
    files: dict[str, bytes] = {}
    for i, fam in enumerate(FAMILIES):
        files.update(fam(Composer(seed * 100 + i)))
    return files


def write_all(out: Path, seed: int = SEED) -> dict[str, bytes]:
    files = compose_all(seed)
    for rel, data in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return files


def check(out: Path, seed: int = SEED) -> list[str]:
    """Paths whose committed bytes differ from a fresh composition (empty list = all good)."""
    return [rel for rel, data in compose_all(seed).items()
            if not (out / rel).is_file() or (out / rel).read_bytes() != data]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder to write into (default: demo/)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args(argv)
    if args.check:
        bad = check(args.out, args.seed)
        for rel in bad:
            print(f"differs: {rel}", file=sys.stderr)
        return 1 if bad else 0
    files = write_all(args.out, args.seed)
    print(f"wrote {len(files)} files, {sum(map(len, files.values())):,} bytes under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
