-- The Mailgun webhook's tables and record_mailgun_event(): who may call it and read what it
-- writes, each token accepted once, each event recorded once, and its effects: a permanent
-- failure or a complaint suppresses the address (once), a temporary failure or a delivery does
-- not, an unsubscribe turns off the e-mail about messages. A refused write leaves no row.
begin;
select plan(46);
select tests.create_world();
delete from public.email_delivery_events;
delete from public.mailgun_webhook_tokens;
delete from public.email_suppressions;

-- One delivery: token, signed time, then the event's fields as the function sends them.
create function pg_temp.deliver(token text, event_id text, event text, severity text,
                                recipient text, occurred_at double precision default 1800000000.25,
                                reason text default '', detail text default '') returns text
language sql as $$
  select public.record_mailgun_event(token, 1800000000, event_id, event, severity, recipient,
                                     reason, detail, occurred_at,
                                     'b0c4e1a2-6f3d-4e8a-9b1c-2d3e4f5a6b7c', 'batch@mg.example.test')
$$;

-- ## Who may call it
select is(has_function_privilege(role, 'public.record_mailgun_event(text, bigint, text, text, text, text, text, text, double precision, uuid, text)', 'execute'),
          role = 'service_role',
          format('%s %s execute record_mailgun_event', role, case when role = 'service_role' then 'may' else 'may not' end))
  from unnest(array['anon', 'authenticated', 'service_role']) role;
select is(tests.try_as('platform_admin', $$select public.record_mailgun_event('t', 1, 'e', 'delivered', null, 'x@example.test', '', '', 1, null, null)$$),
          '42501 permission denied for function record_mailgun_event',
          'not even a platform admin can feed events through the API');

-- ## Recording, once per token and once per event
set local role service_role;
select is(pg_temp.deliver('token-1', 'ev-bounce', 'failed', 'permanent', ' Bounced@Example.test ',
                          reason => 'bounce', detail => '550 5.1.1 no such mailbox'),
          'suppressed', 'a permanent failure is recorded and suppresses the address');
select is((select event || '/' || severity || '/' || recipient || '/' || batch_id || '/' || message_id
             from public.email_delivery_events where mailgun_event_id = 'ev-bounce'),
          'failed/permanent/bounced@example.test/b0c4e1a2-6f3d-4e8a-9b1c-2d3e4f5a6b7c/batch@mg.example.test',
          'the event keeps its severity, the address lower-cased, the batch and the Message-Id');
select is((select occurred_at from public.email_delivery_events where mailgun_event_id = 'ev-bounce'),
          to_timestamp(1800000000.25), 'and Mailgun''s time, fraction included');
select is((select reason || ' / ' || detail from public.email_suppressions where address = 'bounced@example.test'),
          'bounced / bounce: 550 5.1.1 no such mailbox', 'the suppression says why, for support');
select is((select signed_at from public.mailgun_webhook_tokens where token = 'token-1'),
          to_timestamp(1800000000), 'the token is kept with its signature''s time');

select is(pg_temp.deliver('token-1', 'ev-other', 'complained', null, 'someone@example.test'),
          'token_reused', 'a token accepted before is refused, whatever event comes with it');
select is((select count(*)::int from public.email_delivery_events), 1, 'and records nothing');
select is((select count(*)::int from public.email_suppressions), 1, 'nor suppresses anyone');

select is(pg_temp.deliver('token-2', 'ev-bounce', 'failed', 'permanent', 'bounced@example.test',
                          reason => 'bounce', detail => '550 5.1.1 no such mailbox'),
          'duplicate', 'the same event under a new token is a duplicate');
select is((select count(*)::int from public.email_delivery_events), 1, 'recorded once');
select is((select count(*)::int from public.mailgun_webhook_tokens), 2, 'its token is kept all the same');
select is(pg_temp.deliver('token-3', 'ev-bounce', 'failed', 'permanent', 'bounced@example.test',
                          occurred_at => 1800086400.25),
          'recorded', 'an id reused on another day is another event (the address stays suppressed)');

-- ## Effects per type
select is(pg_temp.deliver('token-4', 'ev-soft', 'failed', 'temporary', 'soft@example.test', reason => 'generic'),
          'recorded', 'a temporary failure is recorded');
select is((select count(*)::int from public.email_suppressions where address = 'soft@example.test'), 0,
          'but suppresses nobody: Mailgun tries again');
select is(pg_temp.deliver('token-5', 'ev-ok', 'delivered', null, 'rep@example.test'),
          'recorded', 'a delivery is recorded');
select is((select count(*)::int from public.email_suppressions where address = 'rep@example.test'), 0,
          'and suppresses nobody');
select is(pg_temp.deliver('token-6', 'ev-spam', 'complained', null, 'spam@example.test'),
          'suppressed', 'a complaint suppresses the address');
select is((select reason from public.email_suppressions where address = 'spam@example.test'),
          'complained', 'as complained');
select is(pg_temp.deliver('token-7', 'ev-late-complaint', 'complained', null, 'bounced@example.test'),
          'recorded', 'a complaint about an address already suppressed is recorded');
select is((select reason from public.email_suppressions where address = 'bounced@example.test'),
          'bounced', 'and the first reason stays');

select is(pg_temp.deliver('token-8', 'ev-unsub', 'unsubscribed', null, 'REP2@example.test'),
          'recorded', 'an unsubscribe is recorded');
select is((select email_on_message from public.notification_preferences where user_id = tests.id('rep2')),
          false, 'and turns off the e-mail about new messages of the account with that address');
select is((select count(*)::int from public.notification_preferences where user_id <> tests.id('rep2')), 0,
          'of nobody else');

-- ## A refused write leaves nothing behind
select throws_ok($$select pg_temp.deliver('token-9', 'ev-bad', 'failed', null, 'x@example.test')$$,
                 '23514', null, 'a failure needs its severity');
select throws_ok($$select pg_temp.deliver('token-10', 'ev-bad', 'opened', null, 'x@example.test')$$,
                 '23514', null, 'only the four recorded types are accepted');
select throws_ok($$select pg_temp.deliver('token-11', 'ev-bad', 'delivered', null, 'nobody')$$,
                 '23514', null, 'the recipient must be an address');
select is((select count(*)::int from public.mailgun_webhook_tokens where token in ('token-9', 'token-10', 'token-11')), 0,
          'their tokens are not kept, so Mailgun''s retry of a corrected delivery would pass');
reset role;

-- ## Who reads what
select is(tests.seen('platform_admin', $$select mailgun_event_id || ':' || event from email_delivery_events$$),
          array['ev-bounce:failed', 'ev-bounce:failed', 'ev-late-complaint:complained', 'ev-ok:delivered',
                'ev-soft:failed', 'ev-spam:complained', 'ev-unsub:unsubscribed'],
          'platform admins read every delivery event');
select is(tests.seen(persona, $$select mailgun_event_id from email_delivery_events$$), '{}'::text[],
          format('%s reads no delivery event, not even about their own address', persona))
  from unnest(array['rep', 'rep2', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'other',
                    'suspended', 'read_only']) persona;
select is(tests.try_as('anon', $$select * from email_delivery_events$$),
          '42501 permission denied for table email_delivery_events', 'anon reads nothing');
select is(tests.try_as('platform_admin', $$insert into email_delivery_events (mailgun_event_id, occurred_at, event, recipient) values ('x', now(), 'delivered', 'x@example.test')$$),
          '42501 permission denied for table email_delivery_events', 'nobody records an event through the API');
select is(tests.try_as('platform_admin', $$delete from email_delivery_events$$),
          '42501 permission denied for table email_delivery_events', 'nor deletes one');
select is(tests.try_as(persona, $$select * from mailgun_webhook_tokens$$),
          '42501 permission denied for table mailgun_webhook_tokens',
          format('%s cannot read the tokens', persona))
  from unnest(array['anon', 'rep', 'platform_admin']) persona;

select * from finish();
rollback;
