-- Sending a message in one call and one transaction: a reply in a thread, or a new thread with a
-- member the caller manages together with its first message (never a thread without it). Runs
-- with the caller's rights, so the policies of message_threads and messages decide; the answer
-- names the outcome so that the function can tell a retry from a refusal.

create or replace function private.message_json(m public.messages) returns jsonb
language sql stable set search_path = ''
as $$
  select jsonb_build_object(
    'id', m.id, 'thread_id', m.thread_id, 'sender_id', m.sender_id,
    'recipient_id', m.recipient_id, 'body', m.body, 'created_at', m.created_at,
    'read_at', m.read_at)
$$;
comment on function private.message_json(public.messages) is
  'A message as the messaging API answers it (without the deletion flags and the idempotency key).';
grant execute on function private.message_json(public.messages) to authenticated;

create or replace function private.replayed_send(
  earlier public.messages, p_thread_id uuid, p_participant_id uuid, p_body text
) returns jsonb
language sql stable set search_path = ''
as $$
  select case
    when earlier.id is not null and earlier.body = p_body
         and (earlier.thread_id = p_thread_id
              or (p_thread_id is null and earlier.recipient_id = p_participant_id))
      then jsonb_build_object('outcome', 'replayed', 'message', private.message_json(earlier),
                              'new_thread', p_thread_id is null)
    else jsonb_build_object('outcome', 'key_reused')
  end
$$;
comment on function private.replayed_send(public.messages, uuid, uuid, text) is
  'The answer to a send whose idempotency key was used before: the earlier message when it is this one, else key_reused (also when the sender has deleted it).';
grant execute on function private.replayed_send(public.messages, uuid, uuid, text) to authenticated;

create or replace function public.send_message(
  p_body text,
  p_thread_id uuid default null,
  p_participant_id uuid default null,
  p_subject text default '',
  p_idempotency_key text default null
) returns jsonb
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  me uuid := auth.uid();
  target_thread uuid := p_thread_id;
  sent public.messages;
begin
  if (p_thread_id is null) = (p_participant_id is null) then
    raise exception 'name either a thread or a participant' using errcode = 'invalid_parameter_value';
  end if;
  if p_body is null or length(btrim(p_body)) not between 1 and 4000 then
    raise exception 'a message has 1 to 4000 characters' using errcode = 'invalid_parameter_value';
  end if;

  -- A retry: the first attempt's message, if it is the same message.
  if p_idempotency_key is not null then
    select m.* into sent from public.messages m
     where m.sender_id = me and m.idempotency_key = p_idempotency_key;
    if found then
      return private.replayed_send(sent, p_thread_id, p_participant_id, p_body);
    end if;
  end if;

  if p_thread_id is null then
    if p_participant_id not in (select private.managed_user_ids()) or p_participant_id = me then
      return jsonb_build_object('outcome', 'not_managed');
    end if;
  elsif not exists (select 1 from public.message_threads t where t.id = p_thread_id) then
    return jsonb_build_object('outcome', 'no_thread');
  end if;

  begin
    if target_thread is null then
      insert into public.message_threads (participant_id, subject)
      values (p_participant_id, coalesce(p_subject, ''))
      returning id into target_thread;
    end if;
    insert into public.messages (thread_id, body, idempotency_key)
    values (target_thread, p_body, p_idempotency_key)
    returning * into sent;
  exception when unique_violation then
    -- A concurrent attempt with the same key committed first; the new thread is undone too.
    select m.* into sent from public.messages m
     where m.sender_id = me and m.idempotency_key = p_idempotency_key;
    return private.replayed_send(sent, p_thread_id, p_participant_id, p_body);
  end;
  return jsonb_build_object('outcome', 'sent', 'message', private.message_json(sent),
                            'new_thread', p_thread_id is null);
end
$$;
comment on function public.send_message(text, uuid, uuid, text, text) is
  'Sends a message as the caller: a reply in p_thread_id, or a new thread with p_participant_id (a member they manage) and its first message. Outcome sent, replayed (the same key and message again), key_reused, no_thread or not_managed.';
revoke execute on function public.send_message(text, uuid, uuid, text, text) from public, anon;
grant execute on function public.send_message(text, uuid, uuid, text, text) to authenticated;
