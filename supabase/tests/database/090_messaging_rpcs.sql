-- The messaging RPCs (send_message, unread_message_count, mark_thread_read,
-- message_thread_list, message_thread_page) × every persona: they run with the caller's rights,
-- so the policies of 032_messages.sql decide, and each answers the outcome the functions map.
begin;
select plan(109);
select tests.create_world();
select tests.create_messages();
-- Distinct times: the rep's reply is the thread's last message, thread_tm the older thread.
update messages set created_at = now() - interval '2 hours' where id = tests.id('msg_tm');
update messages set created_at = now() - interval '1 hour' where id = tests.id('msg_rep');
update message_threads set last_message_at = now() - interval '1 hour' where id = tests.id('thread_tm');

-- The first value `query` answers as `persona`, undone afterwards; or "<SQLSTATE> <message>".
create function pg_temp.answer_as(persona text, query text) returns text
language plpgsql as $$
declare
  answer text;
begin
  begin
    perform tests.authenticate_as(persona);
    execute query into answer;
    raise exception using errcode = 'TSTOK';
  exception
    when sqlstate 'TSTOK' then null;
    when others then answer := sqlstate || ' ' || sqlerrm;
  end;
  perform tests.clear_authentication();
  return coalesce(answer, 'null');
end
$$;

-- The plan of `query` as `persona`, one line.
create function pg_temp.plan_as(persona text, query text) returns text
language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  perform tests.authenticate_as(persona);
  for line in execute 'explain ' || query loop
    plan := plan || line || ' ';
  end loop;
  perform tests.clear_authentication();
  return plan;
end
$$;

-- ## send_message: a new thread with the rep
select is(pg_temp.answer_as(persona, $$select public.send_message('Hi', null, tests.id('rep'))->>'outcome'$$),
  expected, format('send_message: %s starting a thread with the rep gets %s', persona, expected))
  from (values
    ('rep', 'not_managed'), ('rep2', 'not_managed'), ('team_manager', 'sent'),
    ('enterprise_tm', 'sent'), ('enterprise_admin', 'sent'), ('platform_admin', 'not_managed'),
    ('other', 'not_managed'), ('suspended', 'not_managed'), ('read_only', 'not_managed'),
    ('anon', '42501 permission denied for function send_message')
  ) v(persona, expected);
select is(pg_temp.answer_as(persona, format($$select public.send_message('Hi', null, tests.id(%L))->>'outcome'$$, target)),
  expected, format('send_message: %s starting a thread with %s gets %s', persona, target, expected))
  from (values
    ('team_manager', 'rep2', 'not_managed'), ('team_manager', 'team_manager', 'not_managed'),
    ('team_manager', 'other', 'not_managed'), ('enterprise_tm', 'rep2', 'sent'),
    ('enterprise_admin', 'team_manager', 'sent'), ('enterprise_admin', 'other', 'not_managed'),
    ('other', 'rep2', 'not_managed')
  ) v(persona, target, expected);

-- ## send_message: a reply in the team manager's thread with the rep
select is(pg_temp.answer_as(persona, $$select public.send_message('Reply', tests.id('thread_tm'))->>'outcome'$$),
  expected, format('send_message: %s replying in thread_tm gets %s', persona, expected))
  from (values
    ('rep', 'sent'), ('team_manager', 'sent'), ('rep2', 'no_thread'), ('enterprise_tm', 'no_thread'),
    ('enterprise_admin', 'no_thread'), ('platform_admin', 'no_thread'), ('other', 'no_thread'),
    ('suspended', 'no_thread'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "messages"'),
    ('anon', '42501 permission denied for function send_message')
  ) v(persona, expected);
select is(pg_temp.answer_as('rep', $$select public.send_message('Reply', gen_random_uuid())->>'outcome'$$),
  'no_thread', 'send_message: a thread that does not exist is no_thread');

-- ## send_message: refused input
select is(pg_temp.answer_as('team_manager', format($$select public.send_message(%L, tests.id('thread_tm'))$$, body)),
  '22023 a message has 1 to 4000 characters', format('send_message: a body of %s characters is refused', length(body)))
  from (values (''), ('   '), (repeat('x', 4001))) v(body);
select is(pg_temp.answer_as('team_manager', $$select public.send_message(repeat('é', 4000), tests.id('thread_tm'))->>'outcome'$$),
  'sent', 'send_message: 4000 characters are allowed');
select is(pg_temp.answer_as('team_manager', $$select public.send_message('Hi', tests.id('thread_tm'), tests.id('rep'))$$),
  '22023 name either a thread or a participant', 'send_message: a thread and a participant at once are refused');
select is(pg_temp.answer_as('team_manager', $$select public.send_message('Hi')$$),
  '22023 name either a thread or a participant', 'send_message: neither a thread nor a participant is refused');

-- ## unread_message_count: received, unread, not deleted
select is(pg_temp.answer_as(persona, $$select public.unread_message_count()$$), expected,
  format('unread_message_count: %s has %s', persona, expected))
  from (values
    ('rep', '1'), ('rep2', '1'), ('team_manager', '1'), ('enterprise_tm', '0'),
    ('enterprise_admin', '0'), ('platform_admin', '0'), ('other', '0'), ('suspended', '0'),
    ('read_only', '1'), ('anon', '42501 permission denied for function unread_message_count')
  ) v(persona, expected);

-- ## mark_thread_read: one's own received messages of a thread one is in
select is(pg_temp.answer_as(persona, $$select public.mark_thread_read(tests.id('thread_tm'))$$), expected,
  format('mark_thread_read: %s marking thread_tm read gets %s', persona, expected))
  from (values
    ('rep', '1'), ('team_manager', '1'), ('rep2', 'null'), ('enterprise_tm', 'null'),
    ('enterprise_admin', 'null'), ('platform_admin', 'null'), ('other', 'null'), ('suspended', 'null'),
    ('read_only', '0'), ('anon', '42501 permission denied for function mark_thread_read')
  ) v(persona, expected);

-- ## message_thread_list
select is(pg_temp.answer_as(persona, $$select array(
    select tests.name((t->>'id')::uuid) from jsonb_array_elements(public.message_thread_list()->'threads') t)::text$$),
  expected, format('message_thread_list: %s lists %s', persona, expected))
  from (values
    ('rep', '{thread_tm}'), ('rep2', '{thread_ea}'), ('team_manager', '{thread_tm}'),
    ('enterprise_tm', '{}'), ('enterprise_admin', '{thread_ea}'), ('platform_admin', '{}'),
    ('other', '{}'), ('suspended', '{}'), ('read_only', '{thread_tm}'),
    ('anon', '42501 permission denied for function message_thread_list')
  ) v(persona, expected);
select is(pg_temp.answer_as('rep', $$select jsonb_build_object(
      'subject', t->'subject', 'started_by', t->'started_by', 'other', t->'other'->'id',
      'sender', t->'last_message'->'sender_id', 'preview', t->'last_message'->'preview', 'unread', t->'unread')::text
    from jsonb_array_elements(public.message_thread_list()->'threads') t$$)::jsonb,
  jsonb_build_object('subject', 'Pipeline', 'started_by', tests.id('team_manager'),
    'other', tests.id('team_manager'), 'sender', tests.id('rep'), 'preview', 'Fine, 20 calls today', 'unread', 1),
  'message_thread_list: the other participant, the last message and the unread count');
select is(pg_temp.answer_as('rep', format($$select public.message_thread_list(%L)$$, cursor)),
  '22023 not a cursor this API gave', format('message_thread_list: the cursor %L is refused', cursor))
  from (values ('yesterday'), ('1_2'), ('12_' || repeat('z', 36))) v(cursor);
select is(pg_temp.answer_as('rep', format($$select public.message_thread_list(null, %s)$$, rows)),
  '22023 a page has 1 to 100 threads', format('message_thread_list: a page of %s is refused', rows))
  from (values (0), (101)) v(rows);

-- ## message_thread_page
select is(pg_temp.answer_as(persona, $$select array(
    select tests.name((m->>'id')::uuid)
      from jsonb_array_elements(public.message_thread_page(tests.id('thread_tm'))->'messages') m)::text$$),
  expected, format('message_thread_page: %s reads %s in thread_tm', persona, expected))
  from (values
    ('rep', '{msg_rep,msg_tm}'), ('team_manager', '{msg_rep,msg_tm}'), ('read_only', '{msg_rep,msg_tm}'),
    ('rep2', '{}'), ('enterprise_tm', '{}'), ('enterprise_admin', '{}'), ('platform_admin', '{}'),
    ('other', '{}'), ('suspended', '{}'),
    ('anon', '42501 permission denied for function message_thread_page')
  ) v(persona, expected);
select is(pg_temp.answer_as(persona, $$select public.message_thread_page(tests.id('thread_tm'))$$),
  'null', format('message_thread_page: thread_tm is null for %s', persona))
  from unnest(array['rep2', 'enterprise_admin', 'platform_admin', 'other', 'suspended']) persona;
select is(pg_temp.answer_as('rep', $$
    with first as (select public.message_thread_page(tests.id('thread_tm'), null, 1) as page),
         second as (select public.message_thread_page(tests.id('thread_tm'), page->>'next_cursor', 1) as page from first),
         third as (select public.message_thread_page(tests.id('thread_tm'), page->>'next_cursor', 1) as page from second)
    select jsonb_build_array(
      (select page->'messages'->0->>'body' from first), (select page->'messages'->0->>'body' from second),
      (select page->'messages' from third), (select page->'next_cursor' from third))::text$$)::jsonb,
  '["Fine, 20 calls today", "How is it going?", [], null]'::jsonb,
  'message_thread_page: newest first, one page at a time, to the end');
select is(pg_temp.answer_as('rep', $$select public.message_thread_page(tests.id('thread_tm'), null, 201)$$),
  '22023 a page has 1 to 200 messages', 'message_thread_page: a page of 201 is refused');

-- ## Plans: the badge reads the partial unread index
set local enable_seqscan = off;
select ok(pg_temp.plan_as('rep', $$select public.unread_message_count()$$) is not null
          and pg_temp.plan_as('rep', $$select count(*) from public.messages m
                where m.recipient_id = auth.uid() and m.read_at is null and not m.deleted_by_recipient$$)
              like '%messages_unread_by_recipient_idx%',
  'the unread count reads the partial unread index');
reset enable_seqscan;

-- ## What deleting and reading change, step by step (these writes stay for the next checks)
select tests.authenticate_as('team_manager');
select is(public.delete_message_copy(tests.id('msg_tm')), true, 'the team manager deletes their copy of msg_tm');
select tests.authenticate_as('rep');
select is(public.unread_message_count(), 1, 'the sender''s delete leaves the recipient''s unread count');
select is(public.mark_thread_read(tests.id('thread_tm')), 1, 'the rep marks thread_tm read');
select is(public.mark_thread_read(tests.id('thread_tm')), 0, 'a second mark marks nothing');
select is(public.unread_message_count(), 0, 'nothing unread after marking read');
select tests.authenticate_as('team_manager');
select is(public.unread_message_count(), 1, 'what the rep sent stays unread for the team manager');
select tests.clear_authentication();
select is((select read_at is null from messages where id = tests.id('msg_rep')), true,
  'marking read touched only the rep''s received message');
update messages set read_at = null where id = tests.id('msg_tm');
select tests.authenticate_as('rep');
select is(public.delete_message_copy(tests.id('msg_tm')), true, 'the rep deletes their (again unread) copy');
select is(public.unread_message_count(), 0, 'a deleted copy no longer counts as unread');
select is(public.message_thread_list()->'threads'->0->>'unread', '0', 'nor in the thread list');
select is(public.message_thread_list()->'threads'->0->'last_message'->>'preview', 'Fine, 20 calls today',
  'the preview is the last message the caller still has');
select is(public.delete_message_copy(tests.id('msg_rep')), true, 'the rep deletes their last copy');
select is(public.message_thread_list()->'threads'->0->'last_message', 'null'::jsonb,
  'a thread whose copies the caller deleted stays listed without a preview');
select is(jsonb_array_length(public.message_thread_page(tests.id('thread_tm'))->'messages'), 0,
  'and its page is empty for them');
select tests.clear_authentication();

-- ## send_message: idempotency keys (one sender's keys; the database's unique constraint)
select tests.authenticate_as('team_manager');
create temporary table sends on commit drop as
  select 1 as n, public.send_message('Once', null, tests.id('rep'), '', 'k1') as answer;
insert into sends select 2, public.send_message('Once', null, tests.id('rep'), '', 'k1');
insert into sends select 3, public.send_message('Other', null, tests.id('rep'), '', 'k1');
insert into sends select 4, public.send_message('Reply', tests.id('thread_tm'), null, '', 'k2');
insert into sends select 5, public.send_message('Reply', tests.id('thread_tm'), null, '', 'k2');
select tests.authenticate_as('rep');
insert into sends select 6, public.send_message('Reply', tests.id('thread_tm'), null, '', 'k1');
select public.delete_message_copy((answer->'message'->>'id')::uuid) from sends where n = 6;
insert into sends select 7, public.send_message('Reply', tests.id('thread_tm'), null, '', 'k1');
select tests.clear_authentication();
select is(array(select answer->>'outcome' from sends order by n),
  '{sent,replayed,key_reused,sent,replayed,sent,key_reused}'::text[],
  'send_message: a retry with the same key and message is replayed, the same key with another message refused');
select is((select m.thread_id = t.id and t.participant_id = tests.id('rep') and t.started_by = tests.id('team_manager')
                  and m.recipient_id = tests.id('rep') and m.org_id = tests.id('org_a') and m.body = 'Once'
             from sends s join messages m on m.id = (s.answer->'message'->>'id')::uuid
             join message_threads t on t.id = m.thread_id where s.n = 1), true,
  'send_message: a new thread and its first message, addressed by the database');
select is((select count(distinct answer->'message'->>'id') from sends where n in (1, 2)), 1::bigint,
  'send_message: the replay answers the first message');
select is((select count(*) from messages where idempotency_key = 'k1' and sender_id = tests.id('team_manager')), 1::bigint,
  'send_message: one message per sender and key');
select is((select count(*) from message_threads where started_by = tests.id('team_manager')), 2::bigint,
  'send_message: the replayed new thread is not started twice');
select is(tests.try_as('team_manager', $$insert into messages (thread_id, body, idempotency_key)
                                        values (tests.id('thread_tm'), 'x', repeat('k', 201))$$),
  '23514 new row for relation "messages" violates check constraint "messages_idempotency_key_check"',
  'messages: an idempotency key has at most 200 characters');

-- ## message_thread_list: order and pages (the enterprise admin's threads with three members, one active later)
select tests.authenticate_as('enterprise_admin');
create temporary table admin_threads on commit drop as
  select n, (public.send_message('Hello ' || n, null, tests.id(member))->'message'->>'thread_id')::uuid as id
    from (values (1, 'rep'), (2, 'team_manager'), (3, 'enterprise_tm')) v(n, member);
select tests.clear_authentication();
update message_threads t set last_message_at = now() - (a.n || ' minutes')::interval
  from admin_threads a where a.id = t.id;
update message_threads set last_message_at = now() - interval '1 day' where id = tests.id('thread_ea');
select is(pg_temp.answer_as('enterprise_admin', $$
    with first as (select public.message_thread_list(null, 2) as page),
         second as (select public.message_thread_list(page->>'next_cursor', 2) as page from first),
         third as (select public.message_thread_list(page->>'next_cursor', 2) as page from second)
    select jsonb_build_array(
      (select jsonb_agg(t->'id') from first, jsonb_array_elements(page->'threads') t),
      (select jsonb_agg(t->'id') from second, jsonb_array_elements(page->'threads') t),
      (select page->'threads' from third), (select page->'next_cursor' from third))::text$$)::jsonb,
  jsonb_build_array(
    (select jsonb_agg(id order by n) from admin_threads where n <= 2),
    jsonb_build_array((select id from admin_threads where n = 3), tests.id('thread_ea')),
    '[]'::jsonb, 'null'::jsonb),
  'message_thread_list: newest activity first, paged by cursor without repeats');

select * from finish();
rollback;
