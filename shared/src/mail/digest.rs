//! The e-mail announcing new messages: who wrote and how many, with a link to read them.
//!
//! Message bodies are deliberately left out. An e-mail leaves our control: it sits in inboxes
//! and their backups, is forwarded, and outlives both the sender's "delete my copy" and the
//! twelve months after which messages are deleted. Only the names of the colleagues who wrote
//! (people of the recipient's own organization) and the count go out; the text stays behind
//! sign-in and RLS.

use serde::Deserialize;
use uuid::Uuid;

use super::mailgun::Email;

/// Mailgun tag of these e-mails.
pub const TAG: &str = "new-messages";

/// A claimed outbox batch, as `claim_email_batches()` answers it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Batch {
    pub id: Uuid,
    pub lease_token: Uuid,
    pub attempts: u32,
    pub recipient_email: String,
    #[serde(default)]
    pub recipient_name: String,
    pub message_count: u32,
    #[serde(default)]
    pub sender_names: Vec<String>,
}

/// The stable `Message-Id` of a batch's e-mail: every attempt sends the same one, so a resend
/// after a crash is recognisably the same e-mail.
pub fn message_id(batch: Uuid, domain: &str) -> String {
    format!("<salespulse-batch-{batch}@{domain}>")
}

/// The e-mail for `batch`, linking to the messages under `app_url`.
pub fn compose(batch: &Batch, app_url: &str, domain: &str) -> Email {
    let senders: Vec<String> = batch.sender_names.iter().map(|name| one_line(name)).collect();
    let count = batch.message_count.max(1);
    let who = names(&senders);
    let messages = if count == 1 { "a message".to_owned() } else { format!("{count} messages") };
    let subject = match senders.len() {
        0 | 1 => format!("{who} sent you {messages}"),
        _ => format!("{count} new messages from {who}"),
    };
    let greeting = match one_line(&batch.recipient_name) {
        name if name.is_empty() => "Hello,".to_owned(),
        name => format!("Hello {name},"),
    };
    let link = format!("{}/messages", app_url.trim_end_matches('/'));
    let text = format!(
        "{greeting}\n\n\
         {who} sent you {messages} on SalesPulse.\n\n\
         Read and answer in SalesPulse: {link}\n\n\
         This e-mail shows only who wrote; the messages stay in SalesPulse. You can turn these \
         e-mails off, or change how long messages are gathered into one e-mail, in your \
         notification settings.\n"
    );
    Email {
        to: batch.recipient_email.clone(),
        subject,
        text,
        message_id: message_id(batch.id, domain),
        batch_id: batch.id.to_string(),
        tag: TAG,
    }
}

/// "Dana", "Dana and Lee", "Dana, Lee and 3 others"; "A colleague" when no name is known.
fn names(senders: &[String]) -> String {
    let known: Vec<&str> =
        senders.iter().map(String::as_str).filter(|name| !name.is_empty()).collect();
    match known.as_slice() {
        [] => "A colleague".to_owned(),
        [one] => (*one).to_owned(),
        [first, second] => format!("{first} and {second}"),
        [first, second, others @ ..] => {
            let plural = if others.len() == 1 { "other" } else { "others" };
            format!("{first}, {second} and {} {plural}", others.len())
        }
    }
}

/// A user-chosen name on one line: control characters (a line break in a subject would start
/// a new header) become spaces, runs of spaces one.
fn one_line(text: &str) -> String {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn batch(count: u32, senders: &[&str]) -> Batch {
        Batch {
            id: Uuid::from_u128(7),
            lease_token: Uuid::from_u128(8),
            attempts: 0,
            recipient_email: "rep@example.test".into(),
            recipient_name: "Robin Rep".into(),
            message_count: count,
            sender_names: senders.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_subject_says_who_wrote_and_how_many() {
        let check = |count: u32, senders: &[&str], expected: &str| {
            let email = compose(&batch(count, senders), "https://app.example", "mg.example");
            assert_eq!(email.subject, expected);
        };
        check(1, &["Dana Manager"], "Dana Manager sent you a message");
        check(3, &["Dana Manager"], "Dana Manager sent you 3 messages");
        check(4, &["Dana Manager", "Lee Admin"], "4 new messages from Dana Manager and Lee Admin");
        check(5, &["Dana", "Lee", "Kim"], "5 new messages from Dana, Lee and 1 other");
        check(9, &["Dana", "Lee", "Kim", "Sam"], "9 new messages from Dana, Lee and 2 others");
        check(2, &[], "A colleague sent you 2 messages");
        check(2, &["", "Lee"], "2 new messages from Lee");
    }

    #[test]
    fn the_text_greets_links_and_carries_no_message_body() {
        let email = compose(&batch(3, &["Dana Manager"]), "https://app.example/", "mg.example");
        assert!(email.text.starts_with("Hello Robin Rep,\n\nDana Manager sent you 3 messages"));
        assert!(email.text.contains("https://app.example/messages\n"), "{}", email.text);
        assert_eq!(email.to, "rep@example.test");
        assert_eq!(email.batch_id, Uuid::from_u128(7).to_string());
        assert_eq!(email.tag, TAG);
        let anonymous = Batch { recipient_name: " ".into(), ..batch(1, &["Dana"]) };
        assert!(compose(&anonymous, "https://a", "d").text.starts_with("Hello,\n"));
    }

    #[test]
    fn every_attempt_of_a_batch_carries_the_same_message_id() {
        let first = compose(&batch(1, &["Dana"]), "https://a", "mg.example");
        let again =
            compose(&Batch { attempts: 3, ..batch(1, &["Dana"]) }, "https://a", "mg.example");
        assert_eq!(first.message_id, again.message_id);
        assert_eq!(
            first.message_id,
            "<salespulse-batch-00000000-0000-0000-0000-000000000007@mg.example>"
        );
    }

    proptest! {
        #[test]
        fn no_name_can_break_the_subject_onto_another_line(
            names in proptest::collection::vec(any::<String>(), 0..5),
            count in 1u32..1000,
        ) {
            let senders: Vec<&str> = names.iter().map(String::as_str).collect();
            let email = compose(&batch(count, &senders), "https://app.example", "mg.example");
            prop_assert!(!email.subject.chars().any(char::is_control), "{:?}", email.subject);
            prop_assert!(email.subject.contains(&count.to_string()) || count == 1);
            prop_assert!(email.text.contains("https://app.example/messages"));
        }
    }
}
