//! Escalation along a duty list (值班表): an alert nobody has acknowledged goes to the next
//! person after a set time.
//!
//! [`escalation`] is a pure function of the policy, the alert's level, when it was raised,
//! when (if ever) it was acknowledged, and `now`. Person 0 is told when the alert is raised;
//! person `k` at `raised_at + k × after` unless someone acknowledged before that moment.
//! After the last person nobody new is told (the list is the chain of command; its last
//! entry is normally the leading group's head). The caller keeps the time it last looked
//! and sends the notices of [`Escalation::since`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yuqing_judge::grading::Level;

use crate::duration::Span;

fn default_after() -> Span {
    Span::mins(15)
}

/// `[alerts.escalation]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Who is told, in order (names, user ids or channel names: the caller decides).
    pub duty: Vec<String>,
    /// Time without acknowledgement before the next person is told.
    #[serde(default = "default_after")]
    pub after: Span,
    /// A shorter (or longer) wait for some levels, e.g. `especially_major = "5m"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub after_by_level: BTreeMap<Level, Span>,
}

impl EscalationPolicy {
    /// The wait at `level`.
    pub fn after_for(&self, level: Level) -> Span {
        self.after_by_level
            .get(&level)
            .copied()
            .unwrap_or(self.after)
    }
}

/// One person told at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Position in the duty list.
    pub step: usize,
    pub who: String,
    pub at: DateTime<Utc>,
}

/// The escalation state of one alert at `now`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    /// Everyone who should have been told by now, in order.
    pub notified: Vec<Notice>,
    /// The next person to tell and when, if nobody acknowledges first.
    pub next: Option<Notice>,
    /// Acknowledged at or before `now`.
    pub acknowledged: bool,
}

impl Escalation {
    /// Notices due after `since` (exclusive): what to send now if the caller last looked at
    /// `since`.
    pub fn since(&self, since: DateTime<Utc>) -> impl Iterator<Item = &Notice> {
        self.notified.iter().filter(move |n| n.at > since)
    }

    /// The person currently responsible: the last one told.
    pub fn current(&self) -> Option<&Notice> {
        self.notified.last()
    }
}

/// Who has been told by `now`, and who is next.
pub fn escalation(
    policy: &EscalationPolicy,
    level: Level,
    raised_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Escalation {
    let ack = acknowledged_at.filter(|a| *a <= now);
    let after = policy.after_for(level).chrono();
    let mut notified = Vec::new();
    let mut next = None;
    for (step, who) in policy.duty.iter().enumerate() {
        let at = step_time(raised_at, after, step);
        // Person 0 is told when the alert is raised, even if it is acknowledged at once.
        if step > 0 && ack.is_some_and(|a| a <= at) {
            break;
        }
        let n = Notice {
            step,
            who: who.clone(),
            at,
        };
        if at <= now {
            notified.push(n);
        } else {
            if ack.is_none() {
                next = Some(n);
            }
            break;
        }
    }
    Escalation {
        notified,
        next,
        acknowledged: ack.is_some(),
    }
}

fn step_time(raised_at: DateTime<Utc>, after: chrono::Duration, step: usize) -> DateTime<Utc> {
    let k = i32::try_from(step).unwrap_or(i32::MAX);
    after
        .checked_mul(k)
        .and_then(|d| raised_at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
    }
    fn policy() -> EscalationPolicy {
        EscalationPolicy {
            duty: vec!["值班员".into(), "科长".into(), "主任".into()],
            after: Span::mins(15),
            after_by_level: BTreeMap::from([(Level::EspeciallyMajor, Span::mins(5))]),
        }
    }
    fn who(e: &Escalation) -> Vec<&str> {
        e.notified.iter().map(|n| n.who.as_str()).collect()
    }

    #[test]
    fn escalates_until_acknowledged() {
        let p = policy();
        let e = escalation(&p, Level::General, t0(), None, t0());
        assert_eq!(who(&e), ["值班员"]);
        assert_eq!(
            e.next.as_ref().map(|n| n.at),
            Some(t0() + Duration::minutes(15))
        );
        let e = escalation(&p, Level::General, t0(), None, t0() + Duration::minutes(15));
        assert_eq!(who(&e), ["值班员", "科长"]);
        let e = escalation(&p, Level::General, t0(), None, t0() + Duration::hours(5));
        assert_eq!(who(&e), ["值班员", "科长", "主任"]);
        assert_eq!(e.next, None, "the list ends");
        assert_eq!(e.current().map(|n| n.who.as_str()), Some("主任"));
        assert_eq!(e.since(t0() + Duration::minutes(20)).count(), 1);
    }

    #[test]
    fn acknowledgement_stops_it() {
        let p = policy();
        let ack = Some(t0() + Duration::minutes(10));
        let e = escalation(&p, Level::General, t0(), ack, t0() + Duration::hours(1));
        assert_eq!(who(&e), ["值班员"]);
        assert!(e.acknowledged);
        assert_eq!(e.next, None);
        // An acknowledgement in the future of `now` does not count yet.
        let e = escalation(&p, Level::General, t0(), ack, t0() + Duration::minutes(5));
        assert!(!e.acknowledged);
        assert!(e.next.is_some());
        // Acknowledged exactly when the next step was due: the next person is not told.
        let ack = Some(t0() + Duration::minutes(15));
        let e = escalation(&p, Level::General, t0(), ack, t0() + Duration::hours(1));
        assert_eq!(who(&e), ["值班员"]);
    }

    #[test]
    fn faster_for_graver_levels() {
        let p = policy();
        let e = escalation(
            &p,
            Level::EspeciallyMajor,
            t0(),
            None,
            t0() + Duration::minutes(10),
        );
        assert_eq!(who(&e), ["值班员", "科长", "主任"]);
    }

    #[test]
    fn empty_list_and_config() {
        let p = EscalationPolicy {
            duty: vec![],
            after: Span::mins(1),
            after_by_level: BTreeMap::new(),
        };
        let e = escalation(&p, Level::Major, t0(), None, t0());
        assert!(e.notified.is_empty() && e.next.is_none());
        let p: EscalationPolicy = toml::from_str(
            "duty = [\"a\", \"b\"]\nafter = \"20m\"\n[after_by_level]\nespecially_major = \"5m\"\n",
        )
        .unwrap();
        assert_eq!(p.after_for(Level::EspeciallyMajor), Span::mins(5));
        assert_eq!(p.after_for(Level::Major), Span::mins(20));
    }
}
