//! localstripe, started by `scripts/test` (`LOCALSTRIPE_URL`), delivers signed webhooks that
//! `shared::billing::signature` accepts: the verifier agrees with a Stripe-compatible signer, not
//! only with our own test signer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use shared::billing::signature::{SignatureError, verify};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

fn localstripe_url() -> String {
    std::env::var("LOCALSTRIPE_URL")
        .expect("LOCALSTRIPE_URL: scripts/test starts localstripe and sets it")
}

/// A delivery as it reached our endpoint: the `Stripe-Signature` header and the raw body.
struct Delivery {
    signature: String,
    body: Vec<u8>,
}

/// Answers one HTTP/1.1 request on `listener` with 200 and returns what was sent.
async fn receive_one(listener: &TcpListener) -> Delivery {
    let (stream, _) = listener.accept().await.expect("a webhook connection");
    let mut reader = BufReader::new(stream);
    let (mut signature, mut length) = (String::new(), 0usize);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("a header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "stripe-signature" => signature = value.trim().to_string(),
                "content-length" => length = value.trim().parse().expect("a numeric length"),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.expect("the body");
    let stream = reader.get_mut();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    stream.shutdown().await.ok();
    Delivery { signature, body }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn localstripe_delivers_a_customer_created_webhook_that_the_verifier_accepts() {
    let stripe = localstripe_url();
    let client = reqwest::Client::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/stripe-webhook", listener.local_addr().unwrap());
    let tag = format!("{}-{}", std::process::id(), now());
    let secret = format!("whsec_{tag}");

    let configured = client
        .post(format!("{stripe}/_config/webhooks/test-{tag}"))
        .json(&json!({"url": endpoint, "secret": secret, "events": ["customer.created"]}))
        .send()
        .await
        .expect("localstripe answers");
    assert!(configured.status().is_success(), "{}", configured.status());

    let created = client
        .post(format!("{stripe}/v1/customers"))
        .bearer_auth("sk_test_salespulse")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=billing-{tag}%40example.com&metadata[tag]={tag}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let customer: Value = created.json().await.unwrap();
    let customer_id = customer["id"].as_str().expect("a customer id").to_string();

    // Other tests' customers may be announced too; wait for ours (localstripe sends after ~1 s).
    let delivery = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let delivery = receive_one(&listener).await;
            let event: Value = serde_json::from_slice(&delivery.body).expect("a JSON event");
            if event["data"]["object"]["id"] == customer_id.as_str() {
                assert_eq!(event["type"], "customer.created");
                return delivery;
            }
        }
    })
    .await
    .expect("localstripe delivered the customer.created event");

    let signed_at = verify(&delivery.signature, &delivery.body, &secret, now())
        .expect("localstripe's signature verifies");
    assert!(signed_at.abs_diff(now()) <= 60, "signed at {signed_at}");

    // The same delivery is refused under another secret, with a changed body, or much later.
    assert_eq!(
        verify(&delivery.signature, &delivery.body, "whsec_other", now()),
        Err(SignatureError::Mismatch)
    );
    let mut tampered = delivery.body.clone();
    tampered.push(b' ');
    assert_eq!(
        verify(&delivery.signature, &tampered, &secret, now()),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify(&delivery.signature, &delivery.body, &secret, signed_at + 301),
        Err(SignatureError::Stale)
    );
}
