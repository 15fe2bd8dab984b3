//! Raising alerts (预警): follows the stored documents by seq, applies the alert rules to
//! each one and raises one alert per event and level, with its messages queued in the
//! same transaction (held until the end of quiet hours unless especially major).
//!
//! The follower's position is a stored cursor written with the alerts, so a crash never
//! loses an item or raises it twice; on first start it begins at the newest document
//! (history already stored does not page anyone; `max_age` guards re-imports too).
//!
//! A document is stored before the pipeline grades its event, so the follower stops at a
//! document whose event is not yet graded up to it ([`EventRow::graded_seq`]) and takes it
//! up at the next step: the alert carries the level the rules give. A writer that died
//! between the two is waited for at most [`GRADING_GRACE`].

use crate::Result;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use yuqing_alert::message::{AlertMessage, MessageKind, Publisher};
use yuqing_alert::outbox::Entry;
use yuqing_alert::rules::{AlertRule, AlertSettings, Candidate, QuietWindow};
use yuqing_core::{Clock, StoredDocument};
use yuqing_judge::content::ContentType;
use yuqing_judge::grading::Level;
use yuqing_judge::spike::{SpikeSettings, detect};
use yuqing_store::handling::{NewAlert, NewOutboxEntry, Raised};
use yuqing_store::{EventRow, HandlingStore, Store};
use yuqing_workflow::org::{Role, User};

use crate::HandlingSettings;

/// The cursor name of the alert follower.
pub const CURSOR: &str = "alerts";
/// Documents read per step.
const PAGE: i64 = 1_000;
/// How long the follower waits for the grading of a stored document's event.
pub const GRADING_GRACE: Duration = Duration::from_secs(10);

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Step {
    /// Documents looked at.
    pub scanned: usize,
    /// New alerts (ids).
    pub raised: Vec<i64>,
    /// Existing alerts that matched again.
    pub updated: usize,
}

/// The alert follower; see the module docs.
pub struct Alerter<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    settings: AlertSettings,
    rules: Vec<AlertRule>,
    channels: Vec<String>,
    quiet: Option<QuietWindow>,
    handling: HandlingSettings,
    spike: SpikeSettings,
    cursor: i64,
    plan_names: FxHashMap<i64, String>,
    plans_version: Option<i64>,
    /// (plan, unix hour) → spiking.
    spikes: FxHashMap<(i64, i64), bool>,
    wake: Arc<Notify>,
}

impl<S: Store + HandlingStore> Alerter<S> {
    /// A follower starting at the stored cursor (or, on first start, at the newest
    /// document, stored as the cursor). `wake` is notified when messages were queued (the dispatcher waits on it).
    pub async fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        settings: &HandlingSettings,
        spike: SpikeSettings,
        wake: Arc<Notify>,
    ) -> Result<Self> {
        let quiet = settings.quiet_window()?;
        let cursor = match store.cursor(CURSOR).await? {
            Some(c) => c,
            None => {
                // Stored at once: a follower that takes over (another node after this one
                // died) goes on from here, not from whatever is newest by then.
                let newest = store.max_seq().await?;
                store.raise_alerts(&[], Some((CURSOR, newest))).await?;
                newest
            }
        };
        Ok(Self {
            rules: settings.alerts.effective_rules(&settings.alert_rules),
            channels: settings
                .channels
                .iter()
                .map(|c| c.name().to_owned())
                .collect(),
            settings: settings.alerts.clone(),
            store,
            clock,
            quiet,
            handling: settings.clone(),
            spike,
            cursor,
            plan_names: FxHashMap::default(),
            plans_version: None,
            spikes: FxHashMap::default(),
            wake,
        })
    }

    /// The seq up to which documents have been looked at.
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// The rules in force.
    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Looks at the documents stored since the cursor (at most one page).
    pub async fn step(&mut self) -> Result<Step> {
        let mut docs = self.store.scan(self.cursor, PAGE).await?;
        if docs.is_empty() {
            return Ok(Step::default());
        }
        let now = self.clock.now();
        if !self.settings.enabled {
            let last = docs.last().map_or(self.cursor, |d| d.seq);
            self.store.raise_alerts(&[], Some((CURSOR, last))).await?;
            self.cursor = last;
            return Ok(Step {
                scanned: docs.len(),
                ..Step::default()
            });
        }
        let mut event_ids: Vec<i64> = docs.iter().filter_map(|d| d.event_id).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        // Read after the scan: a mark at or past a document's seq means its grading is in.
        let events: FxHashMap<i64, EventRow> = self
            .store
            .events_by_id(&event_ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let grace = chrono::Duration::from_std(GRADING_GRACE).unwrap_or_default();
        if let Some(cut) = docs.iter().position(|d| {
            d.event_id
                .and_then(|e| events.get(&e))
                .is_some_and(|e| e.graded_seq < d.seq && now - d.ingested_at < grace)
        }) {
            docs.truncate(cut);
        }
        let Some(last) = docs.last().map(|d| d.seq) else {
            return Ok(Step::default());
        };
        let mut step = Step {
            scanned: docs.len(),
            ..Step::default()
        };
        self.refresh_plans().await?;
        let seqs: Vec<i64> = docs.iter().map(|d| d.seq).collect();
        let hits = self.store.plan_hits_of(&seqs).await?;
        let mut alerts = Vec::new();
        // Who is on duty and the users, read once a step and only if something alerts.
        let mut people: Option<People> = None;
        for d in &docs {
            let Some(event) = d.event_id.and_then(|e| events.get(&e)) else {
                continue;
            };
            let plan_ids: Vec<i64> = hits
                .get(&d.seq)
                .map(|h| h.iter().map(|(p, _)| *p).collect())
                .unwrap_or_default();
            let published = d
                .doc
                .published_at
                .map_or(d.ingested_at, |t| t.with_timezone(&Utc));
            if !self.settings.is_recent(published, now) {
                continue;
            }
            let mut spiking = false;
            for p in &plan_ids {
                if self.spiking(*p, now).await? {
                    spiking = true;
                    break;
                }
            }
            let names: Vec<&str> = plan_ids
                .iter()
                .filter_map(|p| self.plan_names.get(p).map(String::as_str))
                .collect();
            let level = event.level.as_ref().and_then(|l| Level::from_code(l.level));
            let cand = Candidate {
                plans: &names,
                level,
                sentiment: d.assessment.sentiment.unwrap_or(0),
                content_type: d
                    .assessment
                    .content_type
                    .and_then(ContentType::from_code)
                    .unwrap_or(ContentType::None),
                spike: spiking,
            };
            let matched = self.settings.matching(&self.rules, &cand, published, now);
            let Some(rule) = matched.first() else {
                continue;
            };
            let level = level.unwrap_or(Level::General);
            let plan = names.first().map(|s| (*s).to_owned());
            // @ the holders of the roles any matching rule names.
            let roles: Vec<Role> = matched
                .iter()
                .flat_map(|r| r.mention_roles.iter())
                .filter_map(|r| Role::parse(r))
                .collect();
            if people.is_none() {
                people = Some(self.people(now).await?);
            }
            let mention = people
                .as_ref()
                .map(|p| p.mention(&roles))
                .unwrap_or_default();
            let message = self
                .message(d, event, rule, level, plan.as_deref(), mention)
                .await?;
            let release = self.handling.release_at(self.quiet.as_ref(), now, level);
            let deliveries = self
                .channels
                .iter()
                .filter(|c| rule.sends_to(c))
                .map(|c| NewOutboxEntry {
                    alert_id: String::new(),
                    channel: c.clone(),
                    enqueued_at: now,
                    next_at: release,
                    body: to_value(&Entry::new(0, "", c, message.clone(), now, release)),
                })
                .collect();
            alerts.push(NewAlert {
                event_id: event.id,
                level: level.code(),
                rule: rule.name.clone(),
                plan,
                seq: d.seq,
                at: now,
                message: to_value(&message),
                deliveries,
            });
        }
        let raised = self
            .store
            .raise_alerts(&alerts, Some((CURSOR, last)))
            .await?;
        self.cursor = last;
        for (r, a) in raised.iter().zip(&alerts) {
            match r {
                Raised::New(id) => {
                    step.raised.push(*id);
                    metrics::counter!("yuqing_alerts_total", "level" => level_name(a.level))
                        .increment(1);
                    tracing::info!(alert = id, event = a.event_id, level = level_name(a.level), rule = %a.rule, "alert raised");
                }
                Raised::Updated(_) => step.updated += 1,
            }
        }
        if !step.raised.is_empty() {
            self.wake.notify_one();
        }
        Ok(step)
    }

    /// Steps until the cursor reaches the newest document (or one waiting for grading).
    pub async fn catch_up(&mut self) -> Result<Step> {
        let mut total = Step::default();
        loop {
            let s = self.step().await?;
            if s.scanned == 0 {
                return Ok(total);
            }
            total.scanned += s.scanned;
            total.raised.extend(s.raised);
            total.updated += s.updated;
        }
    }

    /// Follows the store for ever, looking every `every` (errors are logged and retried).
    pub async fn run(mut self, every: Duration) {
        loop {
            match self.catch_up().await {
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "raising alerts failed; retrying"),
            }
            tokio::time::sleep(every).await;
        }
    }

    async fn refresh_plans(&mut self) -> Result<()> {
        let v = self.store.plans_version().await?;
        if self.plans_version != Some(v) {
            self.plan_names = self
                .store
                .plans()
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect();
            self.plans_version = Some(v);
        }
        Ok(())
    }

    async fn spiking(&mut self, plan: i64, now: DateTime<Utc>) -> Result<bool> {
        let hour = now.timestamp().div_euclid(3600);
        if let Some(s) = self.spikes.get(&(plan, hour)) {
            return Ok(*s);
        }
        let since =
            (hour - i64::from(self.spike.baseline_hours + self.spike.window_hours) - 1) * 3_600_000;
        let hourly = self.store.plan_hourly(plan, since).await?;
        let s = detect(&hourly, hour, &self.spike).is_spike;
        self.spikes.retain(|(_, h), _| *h == hour);
        self.spikes.insert((plan, hour), s);
        Ok(s)
    }

    /// The first person on duty at `now` and the organisation's users.
    async fn people(&self, now: chrono::DateTime<Utc>) -> Result<People> {
        let duty = self
            .store
            .duty(now, now + chrono::Duration::milliseconds(1))
            .await?;
        let (_, users) = self.store.org().await?;
        Ok(People {
            first_on_duty: duty.into_iter().next().map(|s| s.user),
            users,
        })
    }

    /// The message of an alert: level, plan, title, first publisher, link, why.
    async fn message(
        &self,
        d: &StoredDocument,
        event: &EventRow,
        rule: &AlertRule,
        level: Level,
        plan: Option<&str>,
        mention: Contacts,
    ) -> Result<AlertMessage> {
        let first = match event.first_seq {
            Some(s) if s != d.seq => self.store.by_seqs(&[s]).await?.into_iter().next(),
            _ => None,
        };
        let publisher_doc = first.as_ref().unwrap_or(d);
        let first_publisher = publisher_doc.doc.author.as_ref().map(|a| Publisher {
            name: a
                .name
                .clone()
                .or_else(|| a.id.clone())
                .unwrap_or_else(|| "未知".into()),
            time: publisher_doc
                .doc
                .published_at
                .map(|t| t.with_timezone(&Utc)),
        });
        let title = event
            .title
            .clone()
            .or_else(|| d.doc.title.clone())
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| d.doc.text.chars().take(60).collect());
        let (why, why_en) = match &event.level {
            Some(l) => (
                format!("{}；预警规则：{}", l.reason, rule.describe_zh()),
                Some(format!(
                    "{}; alert rule: {}",
                    l.reason_en,
                    rule.describe_en()
                )),
            ),
            None => (
                format!("预警规则：{}", rule.describe_zh()),
                Some(format!("alert rule: {}", rule.describe_en())),
            ),
        };
        let mut msg = AlertMessage {
            alert_id: String::new(),
            level,
            plan: plan.unwrap_or("（未命中方案）").to_owned(),
            title,
            first_publisher,
            link: d.doc.url.clone(),
            why,
            why_en,
            found_at: d.ingested_at,
            kind: MessageKind::Alert,
            next: None,
            next_en: None,
            mention: Vec::new(),
            mention_email: Vec::new(),
            mention_feishu: Vec::new(),
        };
        mention.apply(&mut msg);
        Ok(msg)
    }
}

/// Who an alert may @: the first person on duty and the users with their roles.
struct People {
    first_on_duty: Option<String>,
    users: Vec<User>,
}

impl People {
    /// The people an alert names: the first on duty (the one the alert itself tells), then
    /// everyone holding one of `roles` (e.g. the leading group, named by a matching rule).
    fn mention(&self, roles: &[Role]) -> Contacts {
        let on_duty = self
            .users
            .iter()
            .filter(|u| Some(&u.id) == self.first_on_duty.as_ref());
        let holders = self
            .users
            .iter()
            .filter(|u| u.grants.iter().any(|g| roles.contains(&g.role)));
        Contacts::of(on_duty.chain(holders))
    }
}

/// How a message reaches the people it names: their mobile numbers (@ in DingTalk and
/// WeCom groups), e-mail addresses (Cc on e-mail channels) and Feishu ids (@ in Feishu
/// groups), each once, in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Contacts {
    pub mobiles: Vec<String>,
    pub emails: Vec<String>,
    pub feishu: Vec<String>,
}

impl Contacts {
    pub fn of<'a>(people: impl IntoIterator<Item = &'a User>) -> Contacts {
        let mut out = Contacts::default();
        for u in people {
            for (have, list) in [
                (&u.mobile, &mut out.mobiles),
                (&u.email, &mut out.emails),
                (&u.feishu, &mut out.feishu),
            ] {
                if let Some(v) = have
                    && !list.contains(v)
                {
                    list.push(v.clone());
                }
            }
        }
        out
    }

    /// Sets them as the people `msg` names.
    pub fn apply(self, msg: &mut AlertMessage) {
        msg.mention = self.mobiles;
        msg.mention_email = self.emails;
        msg.mention_feishu = self.feishu;
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn level_name(code: i64) -> &'static str {
    Level::from_code(code).map_or("unknown", |l| l.as_str())
}
