-- The e-mail outbox: who reads it (recipients their own batches, platform admins all, nobody
-- writes it through the API) and how messages are batched into it.
begin;
select plan(34);
select tests.create_world();
select tests.create_messages();

-- create_messages: the team manager wrote to the rep, the rep to the team manager, the
-- enterprise admin to rep2: one batch each.
select is(tests.seen(persona, $$select tests.name(recipient_id) from email_outbox$$), expected,
          format('email_outbox: %s reads %s', persona, expected))
  from (values
    ('rep', '{rep}'::text[]), ('rep2', '{rep2}'), ('team_manager', '{team_manager}'),
    ('enterprise_tm', '{}'), ('enterprise_admin', '{}'), ('platform_admin', '{rep,rep2,team_manager}'),
    ('other', '{}'), ('suspended', '{}'), ('read_only', '{rep}')
  ) v(persona, expected);
select is(tests.try_as('anon', $$select * from email_outbox$$),
          '42501 permission denied for table email_outbox', 'email_outbox: anon reads nothing');
select is(tests.try_as(persona, statement), '42501 permission denied for table email_outbox',
          format('email_outbox: %s cannot %s', persona, split_part(statement, ' ', 1)))
  from (values ('rep'), ('platform_admin'), ('enterprise_admin')) p(persona),
       (values ($$insert into email_outbox (recipient_id, next_attempt_at) values (auth.uid(), now())$$),
               ($$update email_outbox set status = 'sent'$$),
               ($$delete from email_outbox$$)) s(statement);
select is(tests.try_as(persona, $$select public.claim_email_batches()$$),
          '42501 permission denied for function claim_email_batches',
          format('%s cannot claim batches', persona))
  from unnest(array['rep', 'platform_admin', 'anon']) persona;
select is(tests.try_as('platform_admin',
            format($$select public.record_email_sent(%L, gen_random_uuid(), 'x')$$, gen_random_uuid())),
          '42501 permission denied for function record_email_sent', 'nor record a send');
select is(tests.try_as('platform_admin',
            format($$select public.record_email_failure(%L, gen_random_uuid(), 'x', false)$$, gen_random_uuid())),
          '42501 permission denied for function record_email_failure', 'nor a failure');

-- ## Batching
select is((select (message_count, sender_ids, next_attempt_at - first_message_at, status, attempts)::text
             from email_outbox where recipient_id = tests.id('rep')),
          (1, array[tests.id('team_manager')], interval '15 minutes', 'pending', 0)::text,
          'a first message opens a batch due after the default 15-minute window');

-- A burst through the API, as the team manager, then the enterprise admin in a new thread.
select tests.authenticate_as('team_manager');
insert into messages (thread_id, body) values (tests.id('thread_tm'), 'One more thing'),
                                              (tests.id('thread_tm'), 'And another');
select tests.clear_authentication();
select tests.authenticate_as('enterprise_admin');
insert into message_threads (id, participant_id) values (tests.named('thread_ea_rep'), tests.id('rep'));
insert into messages (thread_id, body) values (tests.id('thread_ea_rep'), 'Hello from the admin');
select tests.clear_authentication();

select is((select count(*) from email_outbox where recipient_id = tests.id('rep')), 1::bigint,
          'a burst of messages stays one batch');
select is((select (message_count, sender_ids)::text from email_outbox where recipient_id = tests.id('rep')),
          (4, array[tests.id('team_manager'), tests.id('enterprise_admin')])::text,
          'the batch counts every message and names each sender once, in order');
select is((select count(*) from messages), 6::bigint, 'every message was written');

-- The recipient's own window.
insert into notification_preferences (user_id, email_batch_minutes) values (tests.id('rep2'), 5);
delete from email_outbox where recipient_id = tests.id('rep2');
insert into messages (thread_id, sender_id, body) values (tests.id('thread_ea'), tests.id('enterprise_admin'), 'Hi');
select is((select next_attempt_at - first_message_at from email_outbox where recipient_id = tests.id('rep2')),
          interval '5 minutes', 'a recipient''s own batch window sets when the batch is due');

-- E-mail off: no batch.
update notification_preferences set email_on_message = false where user_id = tests.id('rep2');
insert into messages (thread_id, sender_id, body) values (tests.id('thread_ea'), tests.id('enterprise_admin'), 'Hi again');
select is((select message_count from email_outbox where recipient_id = tests.id('rep2')), 1,
          'a recipient who turned e-mail off gets no batch for new messages');

-- A claimed batch is frozen: the next message opens a new one.
update email_outbox set claimed_at = now() where recipient_id = tests.id('rep');
insert into messages (thread_id, sender_id, body) values (tests.id('thread_tm'), tests.id('team_manager'), 'Later');
select is((select array_agg(message_count order by message_count) from email_outbox where recipient_id = tests.id('rep')),
          array[1, 4], 'a batch already claimed takes no more messages: the next one opens a new batch');
insert into messages (thread_id, sender_id, body) values (tests.id('thread_tm'), tests.id('team_manager'), 'Later still');
select is((select array_agg(message_count order by message_count) from email_outbox where recipient_id = tests.id('rep')),
          array[2, 4], 'and later ones join that new batch');

-- The message matters more than its e-mail: an outbox that refuses rows does not stop it.
alter table email_outbox add constraint refuse_everything check (false) not valid;
set local client_min_messages = error;  -- the trigger's warning is expected here
select lives_ok($$insert into messages (id, thread_id, sender_id, body)
                  values (tests.named('msg_kept'), tests.id('thread_tm'), tests.id('rep'), 'Still sent')$$,
                'a message is written even when its e-mail cannot be queued');
reset client_min_messages;
alter table email_outbox drop constraint refuse_everything;
select is((select body from messages where id = tests.id('msg_kept')), 'Still sent', 'and it is there');

select * from finish();
rollback;
