//! E-mail through Mailgun: what the functions share about Mailgun's requests and events.

pub mod webhook;
