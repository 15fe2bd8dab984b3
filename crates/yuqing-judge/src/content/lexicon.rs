//! The built-in lexicon of [`super::Classifier`]: whitespace-separated word lists, one per
//! role. Words are in normalised form (simplified, lower case, half-width). The lists were
//! written from how complaints, calls to action, comments and news reports actually read
//! on Weibo, Tieba, message boards and news sites; `remove` in the configuration takes
//! words out, the other keys add words.

use super::Category;

/// Behavioural tendency that counts on its own (unless negated or asked about).
pub(super) const BEHAVIOUR_STRONG: &str = "
集体上访 越级上访 进京上访 赴京上访 赴省上访 上访 集访 缠访 闹访
罢工 罢课 罢市 罢运 罢驶 罢考 停工抗议 集体停工 集体罢工 停运抗议
游行 游行示威 示威 示威游行 静坐 静坐示威 集体静坐 绝食 以死相逼 跳楼讨薪 爬塔吊 跳楼维权
拉横幅 拉条幅 打横幅 举横幅 挂横幅 举牌抗议 举标语
堵路 堵桥 堵门 堵厂门 堵大门 堵政府 堵高速 围堵 封路 拦路 拦车 拦截领导 卧轨
冲击政府 围攻 打砸 打砸抢 聚众闹事 聚众 群体性事件
讨说法 讨个说法 要说法 要个说法 讨公道 讨个公道 集体维权 集体讨薪 集体请愿
请愿 联名信 联名上书 签名请愿 抗议活动 抗议集会 集会 上街 走上街头 一起上街
统一行动 集体行动 大规模行动 求见领导 找领导去
";

/// Behavioural cues that need a time, a place or a mobilising word in the same sentence.
pub(super) const BEHAVIOUR_WEAK: &str = "
集合 聚集 集结 召集 号召 会合 汇合 一起去 一块去 一起来 都去 全部去 相约 约好 约起来 不见不散
维权 讨薪 声援 统一着装 统一穿 横幅 条幅 标语 建群 拉群 进群 组团 包车 组织起来 组织大家
人多力量大 准时到 准时到场 必须到 到场
";

/// Future times that make a gathering cue concrete.
pub(super) const TIME_WORDS: &str = "
明天 明早 明晚 明日 后天 大后天 今晚 今夜 今天下午 今天上午 今天中午 下周 下星期 下周一 下周二
下周三 下周四 下周五 下周六 下周日 这周末 本周末 周末 届时 准时 点整 号上午 号下午 日上午 日下午
到时候 当天上午 当天下午
";

/// Places where gatherings happen (any place).
pub(super) const PLACE_WORDS: &str = "
门口 大门口 楼下 广场 人民广场 售楼处 售楼部 总部 厂门口 校门口 公司门口 集合点 指定地点 老地方
";

/// Institutions people go to in order to press a claim.
pub(super) const PLACE_GOV_WORDS: &str = "
市政府 县政府 区政府 镇政府 乡政府 省政府 政府大楼 政府大门 政府门口 市委 县委 区委 省委 信访局 信访办
信访大厅 信访接待 住建局 人社局 劳动局 劳动监察 教育局 国土局 街道办 镇政府门口
";

/// Words that address a crowd or ask to spread the word.
pub(super) const MOBILISERS: &str = "
大家 所有人 兄弟们 姐妹们 业主们 工友们 家长们 乡亲们 同学们 老乡们 村民们 股民们 全体业主 全体员工
各位业主 各位家长 各位工友 都来 速来 扩散 转发扩散 求扩散 互相转告 奔走相告 人越多越好 能来的都来
有种的 谁不去 一个都不能少 带上 请转告 相互转告
";

/// Interrogative words: a sentence with one is a question, even a strong cue does not count.
pub(super) const INTERROGATIVES: &str =
    "是否 会不会 要不要 是不是 有没有 难道 能否 可否 该不该 会否";

/// Question particles: weak cues do not count in the sentence.
pub(super) const PARTICLES: &str = "吗";

/// Words that block a shorter cue inside them (no role).
pub(super) const BLOCKERS: &str = "
加油站 赞助 旅游行程 旅游行业 聚集性 冲击波 集合体 游行程 示威者称 上访问
";

/// Complaint and problem exposure.
pub(super) const COMPLAINT_WORDS: &str = "
投诉 举报 实名举报 匿名举报 曝光 求曝光 反映 多次反映 反映问题 不作为 乱作为 慢作为 懒政
乱收费 乱罚款 乱摊派 乱扣费 拖欠 拖欠工资 欠薪 讨薪 克扣 克扣工资 工资不发 不发工资 拿不到工资
求助 求救 求帮助 求帮忙 求关注 没人管 无人管 没有人管 有没有人管 谁来管 管不管 管一管 管管
不管不问 不闻不问 踢皮球 推诿 推脱 推三阻四 敷衍 敷衍了事 石沉大海 迟迟不 至今未 至今没有
一直没有解决 得不到解决 没有解决 没人回复 没有回复 不予理睬 置之不理 维权 被骗 上当受骗 坑人 黑心
霸王条款 强买强卖 强制消费 强拆 违建 违章建筑 私搭乱建 扰民 噪音扰民 噪音 污染 偷排 排污 臭味 异味
垃圾成堆 停水 停电 断水 断电 打人 殴打 暴力执法 态度恶劣 态度差 服务差 刁难 吃拿卡要 索贿 受贿 贪污
腐败 挪用 侵占 霸占 欺负 欺压 恐吓 不给退 拒不退款 退款难 虚假宣传 欺诈 延期交房 烂尾 烂尾楼
12345 市长热线 市长信箱 县长信箱 书记信箱 领导留言板 留言板 申诉 控诉 哭诉 还我 求解决 请求解决
希望有关部门 恳请 恳求 请领导 请有关部门 相关部门管管 有关部门管管 怎么办 走投无路 求公道 维权难
";

/// Views and judgements.
pub(super) const VIEW_WORDS: &str = "
认为 我认为 个人认为 觉得 我觉得 我看 依我看 在我看来 看来 应该 不应该 应当 建议 观点 看法 我的看法
主张 呼吁 希望 期待 值得反思 值得深思 反思 其实 说白了 说到底 归根结底 本质上 问题在于 关键在于
根源在于 可见 显然 毫无疑问 不得不说 客观地说 理性看待 不能一概而论 有道理 没道理 站不住脚 评论员
时评 社评 短评 点评 解读 反映出 意味着 需要反思 不妨 与其 要我说 我倒觉得 窃以为 私以为 恐怕 未必
难免 必须 无非 无疑 说明了 看得出 由此可见 换句话说 之所以
";

/// Attitudes and emotions: emotion words and Weibo emoticon tags.
pub(super) const ATTITUDE_WORDS: &str = "
[怒] [怒骂] [泪] [哈哈] [嘻嘻] [笑cry] [允悲] [抓狂] [衰] [吐] [鄙视] [白眼] [哼] [汗] [晕] [悲伤]
[伤心] [可怜] [失望] [生病] [吃惊] [费解] [疑问] [思考] [doge] [二哈] [微笑] [摊手] [赞] [good]
[ok] [心] [爱你] [鼓掌] [威武] [给力] [加油] [蜡烛] [祈祷] [跪了] [挖鼻] [黑线] [偷笑] [弱] [不要]
[作揖] [抱抱] [酷] [傻眼] [裂开] [苦涩] [大哭] [哆啦a梦害怕]
愤怒 气愤 愤慨 义愤填膺 心寒 寒心 支持 力挺 点赞 赞一个 称赞 无语 恶心 可耻 无耻 过分 太过分 离谱
荒唐 荒谬 可笑 搞笑 讽刺 呵呵 哈哈 哈哈哈 活该 垃圾 失望 绝望 悲哀 悲痛 痛心 心痛 心疼 同情 可怜
难过 伤心 崩溃 害怕 可怕 恐怖 担心 担忧 震惊 吃惊 惊讶 感动 欣慰 开心 高兴 佩服 敬佩 致敬 好样的
加油 给力 厉害 牛逼 太牛了 太棒了 真棒 谴责 强烈谴责 抗议 强烈抗议 鄙视 唾弃 气死 好气 服了 醉了
丢人 丢脸 耻辱 骄傲 自豪 祈福 默哀 一路走好 泪目 破防 心酸 愤恨 憎恨 讨厌 不满 强烈不满 不爽 吐槽
无奈 心累 天哪 我的天 卧槽 尼玛 妈的 tmd 傻逼 狗官 畜生 人渣 败类 寒了心 太难了 好惨 真惨
";

/// Built-in cue words of a critical category.
pub(super) fn builtin_category_words(c: Category) -> &'static str {
    match c {
        Category::Emergency => {
 "
突发 突发事件 紧急 紧急情况 爆炸 事故 安全事故 重大事故 伤亡 人员伤亡 死伤 遇难 罹难 身亡 死亡 丧生
失联 受伤 被困 人员被困 救援 搜救 紧急救援 紧急疏散 疏散 应急 应急响应 爆燃 坠落 坍塌 倒塌 群体性事件
冲突 交通事故 重大交通事故 沉船 翻船 坠机 脱轨 列车出轨 翻车 侧翻 泄漏 燃气泄漏 瘫痪
"
        }
        Category::PublicSafety => {
 "
爆炸 踩踏 砍人 命案 车祸 持刀 行凶 杀人 杀害 凶杀 枪击 开枪 纵火 投毒 绑架 劫持 抢劫 恐怖袭击 暴恐
校园霸凌 霸凌 打架斗殴 斗殴 群殴 治安 电信诈骗 诈骗 传销 黑恶势力 涉黑 涉恶 失踪 拐卖 拐骗 交通事故
追尾 连环相撞 危化品 燃气泄漏 煤气爆炸 溺水 坠楼 跳楼 自杀 非法集资 暴力 袭警 醉驾 酒驾 肇事逃逸
高空坠物 报复社会 猥亵 性侵 家暴 偷盗 盗窃 抢夺 非法拘禁 寻衅滋事 聚众斗殴 治安事件
"
        }
        Category::Food => {
 "
食品安全 食品 地沟油 食物中毒 集体中毒 中毒 过期 过期食品 添加剂 非法添加 瘦肉精 三聚氰胺 苏丹红
农药残留 农残超标 兽药残留 变质 发霉 霉变 异物 吃出 食堂 外卖 餐馆 饭店 后厨 餐饮 假冒伪劣食品
毒奶粉 问题奶粉 注水肉 病死猪 僵尸肉 槽头肉 米酵菌酸 黄曲霉 保质期 生产日期 拉肚子 腹泻
苍蝇 蟑螂 老鼠 不卫生 卫生差 校园餐 营养餐 预制菜 保健品 假酒 毒豆芽 
"
        }
        Category::Health => {
 "
疫情 聚集性疫情 传染 传染病 医院 疫苗 问题疫苗 医疗事故 医疗纠纷 医闹 医患 误诊 手术 病人 患者
感染 确诊 病例 核酸 流感 甲流 诺如病毒 结核 肺结核 手足口 新冠 发热 发烧 住院 抢救 死亡病例
卫健委 卫生局 疾控 疾控中心 医生 护士 药品 假药 过期药 诊所 卫生院 医保 看病难 天价医药费 艾滋病
狂犬病 猴痘 霍乱 隔离 防疫 医护 门诊 急诊 icu 病毒 产妇 新生儿 
"
        }
        Category::Disaster => {
 "
地震 级地震 震感 余震 洪水 洪涝 洪灾 台风 泥石流 火灾 山体滑坡 滑坡 暴雨 特大暴雨 内涝 干旱 旱灾
冰雹 暴雪 雪灾 寒潮 森林火灾 山火 海啸 龙卷风 决堤 溃坝 塌方 地质灾害 堰塞湖 沙尘暴 雷击 大火
起火 着火 失火 火情 受灾 灾情 灾民 灾区 抗洪 防汛 汛情 抗旱 气象灾害 暴雨预警 红色预警 橙色预警 蓝色预警
"
        }
        Category::ProductionQuality => {
 "
质量问题 不合格 抽检不合格 召回 豆腐渣 豆腐渣工程 塌陷 地面塌陷 偷工减料 假冒伪劣 以次充好 劣质
次品 残次品 缺陷 安全隐患 隐患 质检 质量事故 安全生产 生产事故 违规生产 无证生产 停产整顿 矿难
瓦斯爆炸 透水事故 烂尾楼 开裂 裂缝 渗水 甲醛超标 毒跑道 毒校服 爆胎 自燃 刹车失灵 断裂 桥梁垮塌 垮塌
坍塌 楼歪歪 楼脆脆 工程质量 产品质量 质量投诉 故障 漏水 短斤少两 虚标
"
        }
        Category::Secrecy => {
 "
泄密 机密 涉密 保密 绝密 秘密 秘密文件 内部文件 泄露 数据泄露 信息泄露 个人信息泄露 窃密 间谍 国家秘密
内部资料 内部通知 截图外传 红头文件 外泄 窃听 黑客 情报 机要 密件 涉密人员 保密协议 
"
        }
    }
}
