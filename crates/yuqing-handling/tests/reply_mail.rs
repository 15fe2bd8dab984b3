//! An approved reply sent by e-mail to the person who wrote to the mailbox (`[reply_mail]`):
//! a letter stored as a document, a case registered from it and walked to an approved
//! reply, then recorded with `mail_to` against a real SMTP server on 127.0.0.1 (the
//! minimal sink of `common`), and against a closed port.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use tokio::net::TcpListener;
use yuqing_core::{Clock, Code, FixedClock, Kind};
use yuqing_handling::HandlingError;
use yuqing_handling::cases::{Cases, NewCase, Origin, Principal};
use yuqing_store::{SqliteStore, Store};
use yuqing_workflow::case::{
    Action, ActionKind, Case, CaseState, MailStatus, Outcome, ReplyChannel,
};
use yuqing_workflow::deadlines::DeadlineRules;

mod common;

const ORG: &str = r#"
[[units]]
id = "county"
name = "某县"
kind = "organisation"

[[units]]
id = "county-water"
name = "县水务局"
kind = "department"
parent = "county"

[[users]]
id = "analyst"
name = "监测员"
grants = [{ unit = "county", role = "analyst" }]

[[users]]
id = "leader"
name = "县领导"
grants = [{ unit = "county", role = "leader" }]

[[users]]
id = "water-liaison"
name = "水务信息员"
grants = [{ unit = "county-water", role = "liaison" }]
"#;

const LETTER_ID: &str = "c1.20270301@example.com";
const WRITER: &str = "resident@example.com";
const ANSWER: &str = "您好，您反映的幸福小区停水问题已于今日修复，感谢监督。";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0).unwrap()
}

struct World {
    clock: Arc<FixedClock>,
    svc: Cases<SqliteStore>,
}

impl World {
    /// A store holding the letter, the organisation, and the service sending replies through
    /// `smtp` (none: not configured).
    async fn new(smtp: Option<std::net::SocketAddr>) -> World {
        let store = Arc::new(SqliteStore::in_memory().await.unwrap());
        let mut letter = yuqing_store::conformance::new_doc(LETTER_ID, "幸福小区停水三天了", 0);
        letter.doc.platform = "email".into();
        letter.doc.kind = Kind::Message;
        letter.doc.title = Some("停水".into());
        letter.doc.author = Some(yuqing_core::Author {
            id: Some(WRITER.into()),
            name: Some("居民".into()),
            ..Default::default()
        });
        store.insert(&[letter], None).await.unwrap();
        let clock = Arc::new(FixedClock::new(t0()));
        let mut svc = Cases::new(
            store.clone(),
            clock.clone() as Arc<dyn Clock>,
            DeadlineRules::default(),
        );
        if let Some(addr) = smtp {
            svc = svc.with_reply_mail(mailer(addr));
        }
        svc.import_org(ORG, &Principal::Operator).await.unwrap();
        World { clock, svc }
    }

    async fn act(&self, id: &str, user: &str, kind: ActionKind) -> Result<Case, HandlingError> {
        let v = self
            .svc
            .case(id, &Principal::Operator)
            .await
            .unwrap()
            .version;
        self.clock.advance(chrono::Duration::minutes(5));
        self.svc.apply(id, Action::new(v, kind), user).await
    }

    /// The letter registered as a case and walked to an approved reply.
    async fn approved_case(&self) -> String {
        let case = self
            .svc
            .register(
                NewCase {
                    unit: "county".into(),
                    source: Origin::Document {
                        platform: "email".into(),
                        id: LETTER_ID.into(),
                    },
                    title: None,
                    summary: String::new(),
                    link: None,
                    negative: true,
                    media_report: false,
                    occurred_at: None,
                    collected_at: None,
                },
                "analyst",
            )
            .await
            .unwrap();
        let id = case.id;
        for (user, kind) in [
            (
                "analyst",
                ActionKind::Judge {
                    level: yuqing_judge::grading::Level::General,
                    facts: "居民来信反映停水".into(),
                    negative: true,
                    emergency: false,
                },
            ),
            (
                "leader",
                ActionKind::Assign {
                    lead: "county-water".into(),
                    co: vec![],
                    due_at: None,
                    instruction: "请核实并答复来信人".into(),
                },
            ),
            (
                "water-liaison",
                ActionKind::RecordHandling {
                    outcome: Some(Outcome::True),
                    actions: "已抢修管道".into(),
                },
            ),
            (
                "water-liaison",
                ActionKind::DraftReply {
                    text: ANSWER.into(),
                },
            ),
            (
                "leader",
                ActionKind::ApproveReply {
                    comment: String::new(),
                },
            ),
        ] {
            let name = kind.name();
            self.act(&id, user, kind)
                .await
                .unwrap_or_else(|e| panic!("{user} could not {name}: {e}"));
        }
        id
    }
}

/// `[reply_mail]` sending through the SMTP server at `addr`.
fn mailer(addr: std::net::SocketAddr) -> Arc<yuqing_alert::ReplyMailer> {
    let config: yuqing_alert::ReplyMailConfig = toml::from_str(&format!(
        "host = \"{}\"\nport = {}\ntls = \"none\"\nfrom = \"县长信箱 <xzxx@county.gov.cn>\"\nsignature = \"某县人民政府办公室\"\ntimeout = \"5s\"\n",
        addr.ip(),
        addr.port()
    ))
    .unwrap();
    Arc::new(yuqing_alert::ReplyMailer::new(&config).unwrap())
}

fn publish(mail_to: Option<&str>) -> ActionKind {
    ActionKind::RecordReply {
        channel: ReplyChannel::Letter,
        link: None,
        text: ANSWER.into(),
        spokesperson: None,
        mail_to: mail_to.map(str::to_owned),
    }
}

async fn sink() -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mails = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(common::smtp_sink(listener, mails.clone()));
    (addr, mails)
}

/// A port nothing listens on.
async fn closed_port() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

fn actions(case: &Case) -> Vec<&str> {
    case.timeline.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test]
async fn an_approved_reply_goes_to_the_writer_and_answers_the_letter() {
    let (addr, mails) = sink().await;
    let w = World::new(Some(addr)).await;
    let id = w.approved_case().await;
    let case = w
        .act(&id, "water-liaison", publish(Some(WRITER)))
        .await
        .expect("record and send");
    assert_eq!(case.state, CaseState::ReplyRecorded);
    let mail = case.replies[0].mail.as_ref().expect("mail");
    assert_eq!((mail.to.as_str(), mail.attempts), (WRITER, 1));
    let MailStatus::Sent {
        message_id,
        response,
        ..
    } = &mail.status
    else {
        panic!("not sent: {:?}", mail.status);
    };
    assert!(message_id.ends_with("@county.gov.cn"), "{message_id}");
    assert_eq!(response, "smtp 250");
    assert_eq!(
        &actions(&case)[actions(&case).len() - 2..],
        ["record_reply", "reply_mailed"]
    );

    // One mail, to the writer, from the office, answering the letter, with the approved
    // wording and the signature.
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let parsed = mail_parser::MessageParser::default()
        .parse(mails[0].as_bytes())
        .expect("a mail");
    let to = parsed
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some(WRITER));
    let from = parsed
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(from, Some("xzxx@county.gov.cn"));
    assert_eq!(parsed.subject(), Some("Re: 停水"));
    assert_eq!(parsed.in_reply_to().as_text(), Some(LETTER_ID));
    assert_eq!(parsed.message_id(), Some(message_id.as_str()));
    let body = parsed.body_text(0).expect("text");
    assert!(
        body.contains(ANSWER) && body.contains("某县人民政府办公室"),
        "{body}"
    );

    // The outcome is the node's to record, and a sent mail is not sent again.
    let e = w
        .act(
            &id,
            "water-liaison",
            ActionKind::ReplyMailed {
                reply: 0,
                message_id: None,
                detail: "forged".into(),
            },
        )
        .await
        .expect_err("a client's outcome");
    assert_eq!(e.code(), Code::InvalidInput);
    let e = w
        .act(
            &id,
            "water-liaison",
            ActionKind::ResendReplyMail { reply: 0 },
        )
        .await
        .expect_err("already sent");
    assert_eq!(e.reason(), Some("mail_already_sent"));
    assert_eq!(mails.len(), 1);
    // The audit log has both steps.
    let audit: Vec<String> = w
        .svc
        .audit(0, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        audit.iter().any(|a| a == "reply_mailed") && audit.iter().any(|a| a == "record_reply"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_mail_that_fails_is_recorded_and_sent_again_by_a_person() {
    let down = closed_port().await;
    let w = World::new(Some(down)).await;
    let id = w.approved_case().await;
    let case = w
        .act(&id, "water-liaison", publish(Some(WRITER)))
        .await
        .expect("recorded even though the mail failed");
    assert_eq!(case.state, CaseState::ReplyRecorded);
    let mail = case.replies[0].mail.as_ref().expect("mail");
    let MailStatus::Failed { reason, .. } = &mail.status else {
        panic!("not failed: {:?}", mail.status);
    };
    assert!(reason.contains("reply_mail"), "{reason}");

    // The server comes back (on another port: the service is rebuilt with it, as a
    // restarted node with a corrected config would be), and a person resends.
    let (addr, mails) = sink().await;
    let w2 = World {
        clock: w.clock.clone(),
        svc: Cases::new(
            w.svc.store().clone(),
            w.clock.clone() as Arc<dyn Clock>,
            DeadlineRules::default(),
        )
        .with_reply_mail(mailer(addr)),
    };
    let case = w2
        .act(&id, "leader", ActionKind::ResendReplyMail { reply: 0 })
        .await
        .expect("resent");
    let mail = case.replies[0].mail.as_ref().expect("mail");
    assert_eq!(mail.attempts, 2);
    assert!(
        matches!(mail.status, MailStatus::Sent { .. }),
        "{:?}",
        mail.status
    );
    assert_eq!(mails.lock().unwrap().len(), 1);
    assert_eq!(
        &actions(&case)[actions(&case).len() - 4..],
        [
            "record_reply",
            "reply_mailed",
            "resend_reply_mail",
            "reply_mailed"
        ]
    );
}

#[tokio::test]
async fn without_reply_mail_or_with_a_bad_address_nothing_is_recorded() {
    let w = World::new(None).await;
    let id = w.approved_case().await;
    let e = w
        .act(&id, "water-liaison", publish(Some(WRITER)))
        .await
        .expect_err("not configured");
    assert_eq!(e.code(), Code::Unavailable);
    assert!(e.to_string().contains("[reply_mail]"), "{e}");
    let case = w.svc.case(&id, &Principal::Operator).await.unwrap();
    assert_eq!(case.state, CaseState::ReplyApproved);
    assert!(case.replies.is_empty());

    let (addr, mails) = sink().await;
    let w = World::new(Some(addr)).await;
    let id = w.approved_case().await;
    let e = w
        .act(
            &id,
            "water-liaison",
            publish(Some("resident at example.com")),
        )
        .await
        .expect_err("bad address");
    assert_eq!(e.reason(), Some("bad_email"));
    let mut on_board = publish(Some(WRITER));
    if let ActionKind::RecordReply { channel, .. } = &mut on_board {
        *channel = ReplyChannel::MessageBoard;
    }
    let e = w
        .act(&id, "water-liaison", on_board)
        .await
        .expect_err("not a letter");
    assert_eq!(e.reason(), Some("mail_needs_letter"));
    // Recorded without an address: no mail, nothing to resend.
    let case = w.act(&id, "water-liaison", publish(None)).await.unwrap();
    assert!(case.replies[0].mail.is_none());
    let e = w
        .act(
            &id,
            "water-liaison",
            ActionKind::ResendReplyMail { reply: 0 },
        )
        .await
        .expect_err("no mail");
    assert_eq!(e.reason(), Some("no_reply_mail"));
    assert!(mails.lock().unwrap().is_empty());
}
