//! 领导加减分: a leader's manual adjustment of a person's performance points, with its
//! reason (003 篇十二: points "根据效果、网上影响大小等因素", deductions for "未发现舆情或应对
//! 不力"), and the points of a period that count them ([`Cases::points_in`]).
//!
//! Who may: the operator (CLI), or a user who holds the leader role over a unit where the
//! person holds a role; never for their own points. A revocation follows the same rule.
//! Both are audited in the store's transaction (`points.adjust`, `points.revoke`), and a
//! revoked adjustment is kept and shown, counting for nothing. A viewer of the statistics
//! sees the points and adjustments of the people of their units and their own
//! ([`sees_person`]).

use super::*;
use yuqing_store::handling::{NewPointAdjustment, PointAdjustment};
use yuqing_workflow::points::Adjustment;

/// An adjustment asked for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdjustPoints {
    /// Whose points (a user id).
    pub user: String,
    /// Added (> 0) or taken away (< 0).
    pub points: i32,
    pub reason: String,
    /// The case it is about.
    #[serde(default)]
    pub case: Option<String>,
    /// When it counts (the period it falls in); now when not given, never later than now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

impl<S: HandlingStore + Store> Cases<S> {
    /// Whether `by` may adjust (or revoke an adjustment of) `user`'s points.
    fn require_point_adjuster(org: &Org, by: &Principal, user: &str) -> Result<()> {
        let Principal::User(by) = by else {
            return Ok(());
        };
        org.require_user(by)?;
        if by == user {
            return Err(HandlingError::forbidden(
                format!("{by} 不能给自己加减分"),
                format!("{by} may not adjust their own points"),
            ));
        }
        if leads_person(org, by, user) {
            return Ok(());
        }
        Err(HandlingError::forbidden(
            format!("{by} 不能给 {user} 加减分；只有其所在单位或上级单位的领导可以"),
            format!(
                "{by} may not adjust the points of {user}: only a leader of their unit or above may"
            ),
        ))
    }

    /// Adds or takes away points of a person, with the reason (audited `points.adjust`).
    pub async fn adjust_points(&self, a: AdjustPoints, by: &Principal) -> Result<PointAdjustment> {
        // Who may, before what: a refusal tells nothing of the input.
        let org = self.org().await?;
        org.require_user(&a.user)?;
        Self::require_point_adjuster(&org, by, &a.user)?;
        Adjustment::validate(a.points, &a.reason)?;
        let now = self.now();
        let at = a.at.unwrap_or(now);
        if at > now {
            return Err(HandlingError::invalid(
                format!(
                    "加减分的计分时间 {} 晚于现在；请写现在或以前的时间",
                    at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M")
                ),
                format!("the adjustment counts at {at}, which is after now; give now or earlier"),
            ));
        }
        let case_id = match a.case.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            // The case must exist and be one `by` may see.
            Some(c) => Some(self.case_in(&org, c, by).await?.id),
            None => None,
        };
        Ok(self
            .store
            .add_point_adjustment(&NewPointAdjustment {
                user: a.user,
                points: a.points,
                reason: a.reason.trim().to_owned(),
                case_id,
                at,
                by: by.name().to_owned(),
                created_at: now,
            })
            .await?)
    }

    /// Revokes an adjustment (audited `points.revoke`); it is kept and counts for nothing.
    /// Revoking one already revoked changes nothing.
    pub async fn revoke_adjustment(&self, id: i64, by: &Principal) -> Result<PointAdjustment> {
        let missing = || {
            HandlingError::not_found(
                format!("没有编号为 {id} 的加减分记录"),
                format!("no point adjustment with id {id}"),
            )
        };
        let a = self.store.point_adjustment(id).await?.ok_or_else(missing)?;
        let org = self.org().await?;
        Self::require_point_adjuster(&org, by, &a.user)?;
        self.store
            .revoke_point_adjustment(id, by.name(), self.now())
            .await?
            .ok_or_else(missing)
    }

    /// The adjustments that count in `period`, revoked ones too.
    pub async fn adjustments(&self, period: Period) -> Result<Vec<PointAdjustment>> {
        Ok(self.store.point_adjustments(period.from, period.to).await?)
    }

    /// Everyone's points in `period` as of `as_of` over `cases`: the rules' entries, the
    /// alerts passed unacknowledged, and the adjustments in force.
    pub async fn points_in(
        &self,
        cases: &[Case],
        period: Period,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<MonitorPoints>> {
        let passed = self.passed_alerts(period).await?;
        let adjustments = in_force(&self.adjustments(period).await?);
        Ok(points::monitor_points(
            cases,
            &passed,
            &adjustments,
            &self.rules,
            &self.points,
            period,
            as_of,
        ))
    }
}

/// Whether `by` holds the leader role over a unit where `person` holds a role.
fn leads_person(org: &Org, by: &str, person: &str) -> bool {
    org.user(person).is_some_and(|u| {
        u.grants
            .iter()
            .any(|g| org.has_role(by, &g.unit, Role::Leader))
    })
}

/// The people whose points `viewer` may adjust ([`Cases::adjust_points`]): everyone for
/// the operator; for a user, the people they lead, never themselves.
pub(super) fn adjustable(org: &Org, viewer: &Principal) -> Vec<String> {
    org.users()
        .filter(|u| match viewer {
            Principal::User(v) => *v != u.id && leads_person(org, v, &u.id),
            Principal::Operator => true,
        })
        .map(|u| u.id.clone())
        .collect()
}

/// Whether `viewer` sees `person`'s points and adjustments: the operator always; a user
/// their own, and those of anyone holding a role on a unit within the viewer's scope.
pub(super) fn sees_person(org: &Org, viewer: &Principal, person: &str) -> bool {
    let Principal::User(v) = viewer else {
        return true;
    };
    v == person
        || org
            .user(person)
            .is_some_and(|p| p.grants.iter().any(|g| org.in_scope(v, &g.unit)))
}

/// The adjustments not revoked, as the points count them.
pub fn in_force(all: &[PointAdjustment]) -> Vec<Adjustment> {
    all.iter()
        .filter(|a| a.revoked_at.is_none())
        .map(PointAdjustment::counted)
        .collect()
}
