-- Reading messages a page at a time, with the caller's rights (RLS decides what they see): the
-- thread list by last activity with each thread's last message the caller still has and their
-- unread count, and one thread's messages newest first. Both page by keyset: the cursor is the
-- last row's (time, id), so rows written meanwhile neither repeat nor go missing.

-- ## Cursors: "<microseconds since 1970>_<uuid>", opaque to clients
create or replace function private.page_cursor(at timestamptz, id uuid) returns text
language sql immutable set search_path = ''
as $$
  select (extract(epoch from at) * 1000000)::bigint::text || '_' || id::text
$$;
comment on function private.page_cursor(timestamptz, uuid) is
  'The cursor of the page after the row (at, id); exact to the microsecond.';
grant execute on function private.page_cursor(timestamptz, uuid) to authenticated;

create or replace function private.page_cursor_at(cursor text) returns timestamptz
language plpgsql immutable set search_path = ''
as $$
begin
  if cursor is null then
    return 'infinity';  -- no cursor: the first page
  end if;
  if cursor !~ '^-?[0-9]{1,18}_[0-9a-f-]{36}$' then
    raise exception 'not a cursor this API gave' using errcode = 'invalid_parameter_value';
  end if;
  return 'epoch'::timestamptz + split_part(cursor, '_', 1)::bigint * interval '1 microsecond';
end
$$;
comment on function private.page_cursor_at(text) is
  'The time of a page cursor, infinity for none (the first page); 22023 when it is not a cursor.';
grant execute on function private.page_cursor_at(text) to authenticated;

create or replace function private.page_cursor_id(cursor text) returns uuid
language plpgsql immutable set search_path = ''
as $$
begin
  perform private.page_cursor_at(cursor);
  return coalesce(split_part(cursor, '_', 2)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff');
end
$$;
comment on function private.page_cursor_id(text) is
  'The row id of a page cursor, the greatest uuid for none (the first page); 22023 when it is not a cursor.';
grant execute on function private.page_cursor_id(text) to authenticated;

-- ## The thread list
create or replace function public.message_thread_list(p_before text default null, p_limit integer default 20)
returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  me uuid := auth.uid();
  before_at timestamptz := private.page_cursor_at(p_before);
  before_id uuid := private.page_cursor_id(p_before);
  answer jsonb;
begin
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'a page has 1 to 100 threads' using errcode = 'invalid_parameter_value';
  end if;
  -- Each side of the caller's threads through its own index, newest first, then merged.
  with page as (
    select t.* from (
      (select * from public.message_threads t
        where t.started_by = me and (t.last_message_at, t.id) < (before_at, before_id)
        order by t.last_message_at desc, t.id desc limit p_limit)
      union all
      (select * from public.message_threads t
        where t.participant_id = me and (t.last_message_at, t.id) < (before_at, before_id)
        order by t.last_message_at desc, t.id desc limit p_limit)
    ) t
    order by t.last_message_at desc, t.id desc limit p_limit
  )
  select jsonb_build_object(
    'threads', coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'subject', p.subject, 'started_by', p.started_by,
        'other', jsonb_build_object('id', other.id, 'full_name', other.full_name),
        'created_at', p.created_at, 'last_message_at', p.last_message_at,
        'last_message', last.message, 'unread', unread.count)
      order by p.last_message_at desc, p.id desc), '[]'::jsonb),
    'next_cursor', case when count(*) = p_limit
                        then (array_agg(private.page_cursor(p.last_message_at, p.id)
                                        order by p.last_message_at, p.id))[1]
                   end)
    into answer
    from page p
    left join public.profiles other
      on other.id = case when p.started_by = me then p.participant_id else p.started_by end
    left join lateral (
      select jsonb_build_object('id', m.id, 'sender_id', m.sender_id, 'preview', left(m.body, 200),
                                'created_at', m.created_at) as message
        from public.messages m where m.thread_id = p.id
       order by m.created_at desc, m.id desc limit 1
    ) last on true
    cross join lateral (
      select count(*)::integer as count from public.messages m
       where m.thread_id = p.id and m.recipient_id = me
         and m.read_at is null and not m.deleted_by_recipient
    ) unread;
  return answer;
end
$$;
comment on function public.message_thread_list(text, integer) is
  'The caller''s threads by last activity, newest first, p_limit (1-100) after the cursor p_before: the other participant, the last message the caller still has (200-character preview) and their unread count; next_cursor while more may follow.';
revoke execute on function public.message_thread_list(text, integer) from public, anon;
grant execute on function public.message_thread_list(text, integer) to authenticated;

-- ## One thread
create or replace function public.message_thread_page(
  p_thread_id uuid, p_before text default null, p_limit integer default 50
) returns jsonb
language plpgsql stable security invoker set search_path = ''
as $$
declare
  me uuid := auth.uid();
  thread public.message_threads;
  before_at timestamptz := private.page_cursor_at(p_before);
  before_id uuid := private.page_cursor_id(p_before);
  page_messages jsonb;
  next_cursor text;
begin
  if p_limit is null or p_limit not between 1 and 200 then
    raise exception 'a page has 1 to 200 messages' using errcode = 'invalid_parameter_value';
  end if;
  select t.* into thread from public.message_threads t where t.id = p_thread_id;
  if not found then
    return null;
  end if;
  select coalesce(jsonb_agg(private.message_json(m) order by m.created_at desc, m.id desc), '[]'::jsonb),
         case when count(*) = p_limit
              then (array_agg(private.page_cursor(m.created_at, m.id) order by m.created_at, m.id))[1]
         end
    into page_messages, next_cursor
    from (select * from public.messages m
           where m.thread_id = p_thread_id and (m.created_at, m.id) < (before_at, before_id)
           order by m.created_at desc, m.id desc limit p_limit) m;
  return jsonb_build_object(
    'thread', jsonb_build_object(
      'id', thread.id, 'subject', thread.subject, 'started_by', thread.started_by,
      'participant_id', thread.participant_id, 'created_at', thread.created_at,
      'last_message_at', thread.last_message_at,
      'other', (select jsonb_build_object('id', o.id, 'full_name', o.full_name) from public.profiles o
                 where o.id = case when thread.started_by = me then thread.participant_id
                                   else thread.started_by end)),
    'messages', page_messages,
    'next_cursor', next_cursor);
end
$$;
comment on function public.message_thread_page(uuid, text, integer) is
  'One of the caller''s threads and a page of the messages they still have, newest first, p_limit (1-200) after the cursor p_before; null when the caller is not in the thread.';
revoke execute on function public.message_thread_page(uuid, text, integer) from public, anon;
grant execute on function public.message_thread_page(uuid, text, integer) to authenticated;
