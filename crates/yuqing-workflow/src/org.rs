//! The organisation (组织架构): units as a forest of trees, users and their roles per unit,
//! and the scope rule every workflow check uses.
//!
//! Units nest (county → town → school); a department (部门) or the public-opinion office
//! (舆情办) is a unit too, told apart by [`UnitKind`]. **Several roots are allowed**: one
//! installation may serve independent bodies (a county and a state company) that share
//! nothing; a unit reaches only its own tree. Building an [`Org`] refuses duplicate ids, an
//! unknown parent, a cycle, and roles granted on unknown units or to duplicate users.
//!
//! **Scope**: a role granted on a unit holds in that unit's whole subtree, never above it or
//! in a sibling tree. [`Org::in_scope`] and [`Org::roles_at`] answer "may this user act
//! here, and as what"; escalation goes to [`Org::parent_organisation`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::{Result, WorkflowError};

/// Identifier of a unit (stable, chosen by the administrator, e.g. `county`, `town-a`).
pub type UnitId = String;
/// Identifier of a user (login name).
pub type UserId = String;

/// What kind of unit this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// An organisation that owns cases and can receive escalations (县, 镇, 学校, 医院, 公司).
    Organisation,
    /// The public-opinion office (舆情办公室) of an organisation.
    Office,
    /// A department that handles assigned cases (部门, 科室), with its liaison.
    Department,
}

impl UnitKind {
    pub const ALL: [UnitKind; 3] = [
        UnitKind::Organisation,
        UnitKind::Office,
        UnitKind::Department,
    ];

    /// Stable name (`organisation`, `office`, `department`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Organisation => "organisation",
            UnitKind::Office => "office",
            UnitKind::Department => "department",
        }
    }
    /// Parses the stable name or the Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s) || k.label_zh() == s)
    }
    /// Chinese label (单位, 舆情办, 部门).
    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::Organisation => "单位",
            UnitKind::Office => "舆情办",
            UnitKind::Department => "部门",
        }
    }
}

/// A role a user holds in a unit (and, by scope, in its subtree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: manages units, users and rules. Deliberately **no** case
    /// powers (separation of duties); give an administrator a second role to let them work.
    Admin,
    /// Leading group member (领导小组): assigns, approves replies, closes, reopens.
    Leader,
    /// Monitor / analyst of the office (舆情办 监测员/分析员): registers, judges, reports.
    Analyst,
    /// A department's liaison officer (网络信息员): handles and drafts replies for cases
    /// assigned to the department.
    Liaison,
    /// Spokesperson (新闻发言人): approves and publishes replies.
    Spokesperson,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Leader,
        Role::Analyst,
        Role::Liaison,
        Role::Spokesperson,
    ];

    /// Stable name (`admin`, `leader`, `analyst`, `liaison`, `spokesperson`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Leader => "leader",
            Role::Analyst => "analyst",
            Role::Liaison => "liaison",
            Role::Spokesperson => "spokesperson",
        }
    }
    /// Parses the stable name (ASCII case ignored) or the Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s) || r.label_zh() == s)
    }
    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Leader => "领导小组",
            Role::Analyst => "舆情办",
            Role::Liaison => "网络信息员",
            Role::Spokesperson => "新闻发言人",
        }
    }
    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Role::Admin => "administrator",
            Role::Leader => "leading group",
            Role::Analyst => "opinion office analyst",
            Role::Liaison => "liaison officer",
            Role::Spokesperson => "spokesperson",
        }
    }
}

/// One unit of the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    pub kind: UnitKind,
    /// `None` for a root.
    #[serde(default)]
    pub parent: Option<UnitId>,
}

/// A role held on a unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub unit: UnitId,
    pub role: Role,
}

/// A user and the roles they hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: UserId,
    pub name: String,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Mobile number, for @-mentions in DingTalk and WeCom groups (the first on duty by an
    /// alert, the person told by an escalation notice, a department's liaisons by a
    /// 催办/督办).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// E-mail address: e-mail channels copy (Cc) the messages that name this person (the
    /// same ones as the @-mentions above), unless the channel sets `cc_mentioned = false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Feishu (飞书) open_id (`ou_…`) or user_id: Feishu group robots can @ a person only by
    /// these, so the same messages @ them there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feishu: Option<String>,
}

/// Whether `m` looks like a phone number: 6 to 20 digits, optionally after a `+`.
pub fn valid_mobile(m: &str) -> bool {
    let digits = m.strip_prefix('+').unwrap_or(m);
    (6..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `e` looks like an e-mail address: `local@domain`, at most 254 characters, one
/// `@`, a dot in the domain, no spaces, control characters, commas, angle brackets or quotes
/// (it is written into a mail header). The mail server has the last word.
pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    e.chars().count() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    ',' | ';' | '<' | '>' | '"' | '(' | ')' | '[' | ']' | '\\'
                )
        })
}

/// Whether `id` looks like a Feishu open_id or user_id: 1 to 64 ASCII letters, digits,
/// `_` or `-`.
pub fn valid_feishu_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A validated organisation: units (a forest) and users.
#[derive(Debug, Clone, Default)]
pub struct Org {
    units: BTreeMap<UnitId, Unit>,
    users: BTreeMap<UserId, User>,
}

impl Org {
    /// Builds and validates an organisation.
    pub fn new(units: Vec<Unit>, users: Vec<User>) -> Result<Org> {
        let mut map = BTreeMap::new();
        for u in units {
            if u.id.trim().is_empty() {
                return Err(WorkflowError::invalid(
                    "empty_id",
                    format!("单位“{}”的编号为空；请给每个单位一个编号", u.name),
                    format!("unit {:?} has an empty id: give every unit an id", u.name),
                ));
            }
            if map.contains_key(&u.id) {
                return Err(WorkflowError::invalid(
                    "duplicate_unit",
                    format!("单位编号 {} 重复；每个单位的编号必须唯一", u.id),
                    format!("unit id {} appears twice: unit ids must be unique", u.id),
                ));
            }
            map.insert(u.id.clone(), u);
        }
        for u in map.values() {
            if let Some(p) = &u.parent
                && !map.contains_key(p)
            {
                return Err(WorkflowError::invalid(
                    "unknown_parent",
                    format!(
                        "单位 {} 的上级 {} 不存在；请先添加上级单位或更正编号",
                        u.id, p
                    ),
                    format!(
                        "the parent {p} of unit {} does not exist: add it first or fix the id",
                        u.id
                    ),
                ));
            }
        }
        // Cycle detection: walk up from each unit; a path longer than the unit count loops.
        for start in map.keys() {
            let mut seen = BTreeSet::new();
            let mut cur = Some(start.clone());
            while let Some(id) = cur {
                if !seen.insert(id.clone()) {
                    return Err(WorkflowError::invalid(
                        "unit_cycle",
                        format!("单位 {start} 的上级关系形成了循环（经过 {id}）；请更正上级"),
                        format!(
                            "the parents of unit {start} form a cycle (through {id}): fix the parents"
                        ),
                    ));
                }
                cur = map.get(&id).and_then(|u| u.parent.clone());
            }
        }
        let mut umap = BTreeMap::new();
        for mut user in users {
            // A blank contact (an empty form field) is none.
            for c in [&mut user.mobile, &mut user.email, &mut user.feishu] {
                *c = c
                    .take()
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
            }
            if user.id.trim().is_empty() {
                return Err(WorkflowError::invalid(
                    "empty_id",
                    format!("用户“{}”的账号为空", user.name),
                    format!("user {:?} has an empty id", user.name),
                ));
            }
            for g in &user.grants {
                if !map.contains_key(&g.unit) {
                    return Err(WorkflowError::invalid(
                        "unknown_unit",
                        format!(
                            "用户 {} 的角色“{}”所在单位 {} 不存在",
                            user.id,
                            g.role.label_zh(),
                            g.unit
                        ),
                        format!(
                            "user {} holds role {} on unknown unit {}",
                            user.id,
                            g.role.as_str(),
                            g.unit
                        ),
                    ));
                }
            }
            // The contacts: (value, check, error code, what and how, in Chinese and English).
            type Check = fn(&str) -> bool;
            let contacts: [(&Option<String>, Check, &'static str, &str, &str); 3] = [
                (
                    &user.mobile,
                    valid_mobile,
                    "bad_mobile",
                    "手机号 {v} 无效：应为 6 到 20 位数字（可带 +）",
                    "mobile {v} is not 6 to 20 digits (optionally after +)",
                ),
                (
                    &user.email,
                    valid_email,
                    "bad_email",
                    "邮箱 {v} 无效：应形如 name@example.org",
                    "e-mail {v} is not an address like name@example.org",
                ),
                (
                    &user.feishu,
                    valid_feishu_id,
                    "bad_feishu",
                    "飞书 ID {v} 无效：应为飞书的 open_id（ou_ 开头）或 user_id，只含字母、数字、_ 和 -，最长 64 位",
                    "Feishu id {v} is not an open_id (ou_…) or user_id: letters, digits, _ and - only, at most 64",
                ),
            ];
            for (value, valid, code, zh, en) in contacts {
                if let Some(v) = value.as_deref().filter(|v| !valid(v)) {
                    let v = format!("{v:?}");
                    return Err(WorkflowError::invalid(
                        code,
                        format!("用户 {} 的{}", user.id, zh.replace("{v}", &v)),
                        format!("user {}: {}", user.id, en.replace("{v}", &v)),
                    ));
                }
            }
            if umap.contains_key(&user.id) {
                return Err(WorkflowError::invalid(
                    "duplicate_user",
                    format!("用户账号 {} 重复", user.id),
                    format!("user id {} appears twice", user.id),
                ));
            }
            umap.insert(user.id.clone(), user);
        }
        Ok(Org {
            units: map,
            users: umap,
        })
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.get(id)
    }
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.get(id)
    }
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The unit, or a `NotFound` error naming it.
    pub fn require_unit(&self, id: &str) -> Result<&Unit> {
        self.units.get(id).ok_or_else(|| {
            WorkflowError::not_found(
                "unknown_unit",
                format!("单位 {id} 不存在"),
                format!("unit {id} does not exist"),
            )
        })
    }

    /// The user, or a `NotFound` error naming them.
    pub fn require_user(&self, id: &str) -> Result<&User> {
        self.users.get(id).ok_or_else(|| {
            WorkflowError::not_found(
                "unknown_user",
                format!("用户 {id} 不存在"),
                format!("user {id} does not exist"),
            )
        })
    }

    /// The direct parent of a unit (`None` for a root or an unknown unit).
    pub fn parent(&self, unit: &str) -> Option<&Unit> {
        self.units
            .get(unit)
            .and_then(|u| u.parent.as_deref())
            .and_then(|p| self.units.get(p))
    }

    /// The ancestors of a unit, nearest first (not including the unit itself).
    pub fn ancestors(&self, unit: &str) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut cur = self.parent(unit);
        // The tree was checked for cycles, but stay bounded anyway.
        while let Some(u) = cur {
            if out.len() > self.units.len() {
                break;
            }
            out.push(u);
            cur = self.parent(&u.id);
        }
        out
    }

    /// Whether `unit` is `ancestor` or lies below it.
    pub fn is_within(&self, unit: &str, ancestor: &str) -> bool {
        unit == ancestor && self.units.contains_key(unit)
            || self.ancestors(unit).iter().any(|a| a.id == ancestor)
    }

    /// The nearest ancestor of kind [`UnitKind::Organisation`]: where an item that `unit`
    /// cannot settle goes up to (a department's is its organisation, a town's the county).
    pub fn parent_organisation(&self, unit: &str) -> Option<&Unit> {
        self.ancestors(unit)
            .into_iter()
            .find(|u| u.kind == UnitKind::Organisation)
    }

    /// The roles `user` holds at `unit`: those granted on the unit or on any ancestor.
    pub fn roles_at(&self, user: &str, unit: &str) -> BTreeSet<Role> {
        let Some(u) = self.users.get(user) else {
            return BTreeSet::new();
        };
        u.grants
            .iter()
            .filter(|g| self.is_within(unit, &g.unit))
            .map(|g| g.role)
            .collect()
    }

    /// Whether `user` may act in `unit` at all: they hold some role on it or on an ancestor.
    pub fn in_scope(&self, user: &str, unit: &str) -> bool {
        !self.roles_at(user, unit).is_empty()
    }

    /// Whether `user` holds `role` at `unit` (on it or on an ancestor).
    pub fn has_role(&self, user: &str, unit: &str, role: Role) -> bool {
        self.roles_at(user, unit).contains(&role)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn unit(id: &str, kind: UnitKind, parent: Option<&str>) -> Unit {
        Unit {
            id: id.into(),
            name: id.into(),
            kind,
            parent: parent.map(Into::into),
        }
    }
    pub(crate) fn user(id: &str, grants: &[(&str, Role)]) -> User {
        User {
            id: id.into(),
            name: id.into(),
            grants: grants
                .iter()
                .map(|(u, r)| Grant {
                    unit: (*u).into(),
                    role: *r,
                })
                .collect(),
            mobile: None,
            email: None,
            feishu: None,
        }
    }

    /// county → town → (school, town-edu department, town-office); county-police department.
    pub(crate) fn sample() -> Org {
        use UnitKind::*;
        Org::new(
            vec![
                unit("county", Organisation, None),
                unit("county-police", Department, Some("county")),
                unit("town", Organisation, Some("county")),
                unit("town-office", Office, Some("town")),
                unit("town-edu", Department, Some("town")),
                unit("town-roads", Department, Some("town")),
                unit("school", Organisation, Some("town")),
            ],
            vec![
                user("county-leader", &[("county", Role::Leader)]),
                user("leader", &[("town", Role::Leader)]),
                user("analyst", &[("town", Role::Analyst)]),
                user("spokes", &[("town", Role::Spokesperson)]),
                user("edu-liaison", &[("town-edu", Role::Liaison)]),
                user("roads-liaison", &[("town-roads", Role::Liaison)]),
                user("admin", &[("county", Role::Admin)]),
            ],
        )
        .expect("sample org is valid")
    }

    #[test]
    fn email_addresses_are_checked_and_blank_ones_dropped() {
        let with = |e: &str| {
            let mut u = user("a", &[]);
            u.email = Some(e.into());
            Org::new(vec![unit("county", UnitKind::Organisation, None)], vec![u])
        };
        let org = with(" duty.li@county.gov.cn ").expect("valid");
        assert_eq!(
            org.user("a").and_then(|u| u.email.as_deref()),
            Some("duty.li@county.gov.cn")
        );
        assert!(
            with("李明@县政府.中国").is_ok(),
            "an internationalised address"
        );
        assert_eq!(
            with("").expect("blank").user("a").map(|u| u.email.clone()),
            Some(None)
        );
        for bad in [
            "li",
            "li@",
            "@county.gov.cn",
            "li@county",
            "li@@county.gov.cn",
            "li ming@county.gov.cn",
            "li@county.gov.cn, boss@county.gov.cn",
            "li@county.gov.cn\r\nBcc: x@y.org",
            "\"Li\" <li@county.gov.cn>",
        ] {
            let e = with(bad).expect_err(bad);
            assert!(e.to_string().contains("邮箱"), "{e}");
        }
    }

    #[test]
    fn feishu_ids_are_checked_and_blank_ones_dropped() {
        let with = |f: &str| {
            let mut u = user("a", &[]);
            u.feishu = Some(f.into());
            Org::new(vec![unit("county", UnitKind::Organisation, None)], vec![u])
        };
        let org = with(" ou_7d8a6e6df7621556ce0d21922b676706 ").expect("valid");
        assert_eq!(
            org.user("a").and_then(|u| u.feishu.as_deref()),
            Some("ou_7d8a6e6df7621556ce0d21922b676706")
        );
        assert!(with("a1b2-c3_d4").is_ok(), "a user_id");
        assert_eq!(
            with(" ")
                .expect("blank")
                .user("a")
                .map(|u| u.feishu.clone()),
            Some(None)
        );
        for bad in ["ou_\"><at user_id=\"all", "张三", "ou 123", &"x".repeat(65)] {
            let e = with(bad).expect_err(bad);
            assert!(e.to_string().contains("飞书"), "{e}");
        }
    }

    #[test]
    fn mobile_numbers_are_checked_and_blank_ones_dropped() {
        let with = |m: &str| {
            let mut u = user("a", &[]);
            u.mobile = Some(m.into());
            Org::new(vec![unit("county", UnitKind::Organisation, None)], vec![u])
        };
        let org = with(" 13800001111 ").expect("valid");
        assert_eq!(
            org.user("a").and_then(|u| u.mobile.as_deref()),
            Some("13800001111")
        );
        assert_eq!(
            with("+8613800001111")
                .expect("valid")
                .user("a")
                .map(|u| u.mobile.is_some()),
            Some(true)
        );
        assert_eq!(
            with("  ")
                .expect("blank")
                .user("a")
                .map(|u| u.mobile.clone()),
            Some(None)
        );
        for bad in ["138-0000", "12345", "电话", "+"] {
            let e = with(bad).expect_err(bad);
            assert!(
                e.to_string().contains("手机号") && e.to_string().contains(bad),
                "{e}"
            );
        }
    }

    #[test]
    fn scope_is_the_subtree() {
        let org = sample();
        assert!(org.in_scope("leader", "town"));
        assert!(org.in_scope("leader", "school"));
        assert!(!org.in_scope("leader", "county"));
        assert!(!org.in_scope("leader", "county-police"));
        assert!(org.in_scope("edu-liaison", "town-edu"));
        assert!(!org.in_scope("edu-liaison", "town"));
        assert!(!org.in_scope("edu-liaison", "town-roads"));
        assert!(!org.in_scope("nobody", "town"));
        assert_eq!(
            org.roles_at("county-leader", "school")
                .into_iter()
                .collect::<Vec<_>>(),
            vec![Role::Leader]
        );
    }

    #[test]
    fn ancestors_and_parents() {
        let org = sample();
        let a: Vec<_> = org
            .ancestors("school")
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(a, ["town", "county"]);
        assert_eq!(org.parent("town-edu").map(|u| u.id.as_str()), Some("town"));
        assert_eq!(org.parent("county"), None);
        assert_eq!(
            org.parent_organisation("town-edu").map(|u| u.id.as_str()),
            Some("town")
        );
        assert_eq!(
            org.parent_organisation("town").map(|u| u.id.as_str()),
            Some("county")
        );
        assert!(org.parent_organisation("county").is_none());
    }

    #[test]
    fn bad_trees_are_refused() {
        use UnitKind::*;
        let dup = Org::new(
            vec![unit("a", Organisation, None), unit("a", Department, None)],
            vec![],
        );
        assert_eq!(dup.unwrap_err().reason(), "duplicate_unit");
        let unknown = Org::new(vec![unit("a", Organisation, Some("zz"))], vec![]);
        assert_eq!(unknown.unwrap_err().reason(), "unknown_parent");
        let cycle = Org::new(
            vec![
                unit("a", Organisation, Some("b")),
                unit("b", Organisation, Some("a")),
                unit("root", Organisation, None),
            ],
            vec![],
        );
        let e = cycle.unwrap_err();
        assert_eq!(e.reason(), "unit_cycle");
        assert!(e.message().zh.contains("循环"));
        let selfloop = Org::new(vec![unit("a", Organisation, Some("a"))], vec![]);
        assert_eq!(selfloop.unwrap_err().reason(), "unit_cycle");
        let grant = Org::new(
            vec![unit("a", Organisation, None)],
            vec![user("u", &[("b", Role::Leader)])],
        );
        assert_eq!(grant.unwrap_err().reason(), "unknown_unit");
        // Two independent roots are fine.
        assert!(
            Org::new(
                vec![unit("a", Organisation, None), unit("b", Organisation, None)],
                vec![]
            )
            .is_ok()
        );
    }

    #[test]
    fn roles_parse_and_label() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert_eq!(Role::parse(r.label_zh()), Some(r));
        }
        assert_eq!(Role::parse("LEADER"), Some(Role::Leader));
        assert_eq!(Role::parse("boss"), None);
        assert_eq!(UnitKind::parse("部门"), Some(UnitKind::Department));
        let json = serde_json::to_string(&Role::Spokesperson).unwrap();
        assert_eq!(json, "\"spokesperson\"");
    }
}
