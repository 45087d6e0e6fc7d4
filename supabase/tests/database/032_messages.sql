-- message_threads, messages and notification_preferences × select/insert/update/delete × every
-- persona; who may start a thread and who may write in it.
begin;
select plan(117);
select tests.create_world();
select tests.create_messages();

select is(tests.seen(persona, $$select tests.name(id) from message_threads$$), expected,
          format('message_threads: %s reads %s', persona, expected))
  from (values
    ('rep', '{thread_tm}'::text[]), ('rep2', '{thread_ea}'), ('team_manager', '{thread_tm}'),
    ('enterprise_tm', '{}'), ('enterprise_admin', '{thread_ea}'), ('platform_admin', '{}'),
    ('other', '{}'), ('suspended', '{}'), ('read_only', '{thread_tm}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, format($$insert into message_threads (participant_id) values (%L)$$, tests.id(target))),
  expected, format('message_threads: %s starting a thread with %s gets %s', persona, target, expected))
  from (values
    ('rep', 'rep2', '42501 new row violates row-level security policy for table "message_threads"'),
    ('team_manager', 'rep', 'ok 1'),
    ('team_manager', 'rep2', '42501 new row violates row-level security policy for table "message_threads"'),
    ('enterprise_tm', 'rep2', 'ok 1'), ('enterprise_admin', 'rep', 'ok 1'),
    ('platform_admin', 'rep', '23514 both participants of a thread are members of one organization'),
    ('other', 'rep', '23514 both participants of a thread are members of one organization'),
    ('suspended', 'rep', '23514 both participants of a thread are members of one organization'),
    ('read_only', 'rep2', '42501 new row violates row-level security policy for table "message_threads"'),
    ('anon', 'rep', '42501 new row violates row-level security policy for table "message_threads"')
  ) v(persona, target, expected);
select is(tests.try_as(persona, $$update message_threads set subject = 'x'$$), 'ok 0',
  format('message_threads: %s cannot edit a thread', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;
select is(tests.try_as(persona, $$delete from message_threads$$), 'ok 0',
  format('message_threads: %s cannot delete a thread', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_tm', 'enterprise_admin', 'platform_admin',
                    'other', 'suspended', 'read_only', 'anon']) persona;

select is(tests.seen(persona, $$select tests.name(id) from messages$$), expected,
          format('messages: %s reads %s', persona, expected))
  from (values
    ('rep', '{msg_rep,msg_tm}'::text[]), ('rep2', '{msg_ea}'), ('team_manager', '{msg_rep,msg_tm}'),
    ('enterprise_tm', '{}'), ('enterprise_admin', '{msg_ea}'), ('platform_admin', '{}'),
    ('other', '{}'), ('suspended', '{}'), ('read_only', '{msg_rep,msg_tm}'), ('anon', '{}')
  ) v(persona, expected);

select is(tests.try_as(persona, $$insert into messages (thread_id, body) values (tests.id('thread_tm'), 'Hello')$$),
  expected, format('messages: %s writing in the team manager''s thread with the rep gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'),
    ('rep2', '23514 only the participants of a thread write in it'),
    ('enterprise_admin', '23514 only the participants of a thread write in it'),
    ('platform_admin', '23514 only the participants of a thread write in it'),
    ('other', '23514 only the participants of a thread write in it'),
    ('suspended', '23514 only the participants of a thread write in it'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "messages"'),
    ('anon', '42501 permission denied for table messages')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update messages set read_at = now() where id = tests.id('msg_tm')$$),
  expected, format('messages: %s marking the team manager''s message read gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 0'),
    ('enterprise_admin', 'ok 0'), ('platform_admin', 'ok 0'), ('other', 'ok 0'),
    ('suspended', 'ok 0'), ('read_only', 'ok 0'), ('anon', '42501 permission denied for table messages')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update messages set deleted_by_sender = true where id = tests.id('msg_tm')$$),
  '42501 permission denied for table messages', format('messages: %s cannot set deletion flags directly', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_admin', 'anon']) persona;
select is(tests.try_as(persona, $$select 1 where public.delete_message_copy(tests.id('msg_tm'))$$),
  expected, format('messages: %s deleting their copy of the team manager''s message gets %s', persona, expected))
  from (values
    ('rep', 'ok 1'), ('team_manager', 'ok 1'), ('enterprise_admin', 'ok 0'),
    ('read_only', '42501 permission denied to delete a message'),
    ('anon', '42501 permission denied for function delete_message_copy')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update messages set body = 'Rewritten' where id = tests.id('msg_tm')$$),
  '42501 permission denied for table messages', format('messages: %s cannot rewrite a message', persona))
  from unnest(array['rep', 'team_manager', 'enterprise_admin', 'anon']) persona;
select is(tests.try_as(persona, $$delete from messages$$), expected,
  format('messages: %s deleting rows gets %s', persona, expected))
  from (values ('rep', 'ok 0'), ('team_manager', 'ok 0'), ('enterprise_admin', 'ok 0'),
               ('platform_admin', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')) v(persona, expected);

select tests.authenticate_as('rep');
select is(public.delete_message_copy(tests.id('msg_tm')), true, 'the recipient deletes their copy');
select is(public.delete_message_copy(tests.id('msg_ea')), false, 'nobody deletes a message they are not part of');
select tests.clear_authentication();
select is((select deleted_by_recipient and not deleted_by_sender from messages where id = tests.id('msg_tm')), true,
  'deleting a copy marks only the caller''s side');
select is(tests.seen('rep', $$select tests.name(id) from messages$$), '{msg_rep}'::text[],
  'a recipient who deleted a message no longer sees it');
select is(tests.seen('team_manager', $$select tests.name(id) from messages$$), '{msg_rep,msg_tm}'::text[],
  'the sender keeps their copy');
update plans set features = '{}' where key = 'tests_plan';
select is(tests.try_as('rep', $$insert into messages (thread_id, body) values (tests.id('thread_tm'), 'Hello')$$),
  '42501 new row violates row-level security policy for table "messages"',
  'messages: nobody writes when messaging is off for them');

-- notification preferences: one's own only
insert into notification_preferences (user_id, email_on_message) values (tests.id('rep'), false), (tests.id('other'), true);
select is(tests.seen(persona, $$select tests.name(user_id) from notification_preferences$$), expected,
          format('notification_preferences: %s reads %s', persona, expected))
  from (values
    ('rep', '{rep}'::text[]), ('team_manager', '{}'), ('enterprise_admin', '{}'),
    ('platform_admin', '{}'), ('other', '{other}'), ('suspended', '{}'),
    ('read_only', '{rep}'), ('anon', '{}')
  ) v(persona, expected);
select is(tests.try_as(persona, $$insert into notification_preferences (in_app_toasts) values (false)$$),
  expected, format('notification_preferences: %s setting their own gets %s', persona, expected))
  from (values
    ('rep', '23505 duplicate key value violates unique constraint "notification_preferences_pkey"'),
    ('team_manager', 'ok 1'), ('enterprise_admin', 'ok 1'),
    ('platform_admin', '42501 new row violates row-level security policy for table "notification_preferences"'),
    ('suspended', '42501 new row violates row-level security policy for table "notification_preferences"'),
    ('read_only', '42501 new row violates row-level security policy "read-only sessions insert nothing" for table "notification_preferences"'),
    ('anon', '42501 new row violates row-level security policy for table "notification_preferences"')
  ) v(persona, expected);
select is(tests.try_as(persona, $$update notification_preferences set email_batch_minutes = 60 where user_id = tests.id('rep')$$),
  expected, format('notification_preferences: %s changing the rep''s gets %s', persona, expected))
  from (values ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_admin', 'ok 0'),
               ('other', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')) v(persona, expected);
select is(tests.try_as(persona, $$delete from notification_preferences where user_id = tests.id('rep')$$),
  expected, format('notification_preferences: %s resetting the rep''s gets %s', persona, expected))
  from (values ('rep', 'ok 1'), ('team_manager', 'ok 0'), ('enterprise_admin', 'ok 0'),
               ('other', 'ok 0'), ('read_only', 'ok 0'), ('anon', 'ok 0')) v(persona, expected);

select * from finish();
rollback;
