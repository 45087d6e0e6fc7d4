-- Unread messages: the badge counts the caller's received messages not read and not deleted from
-- their side (a deleted copy no longer counts), and the recipient marks a thread read.

-- Replaces the unread index with one that also leaves deleted copies out, so the badge and the
-- per-thread counts read only what they count.
drop index public.messages_unread_by_recipient_idx;
create index messages_unread_by_recipient_idx
  on public.messages (recipient_id, thread_id)
  where read_at is null and not deleted_by_recipient;

create or replace function public.unread_message_count() returns integer
language sql stable security invoker set search_path = ''
as $$
  select count(*)::integer from public.messages m
   where m.recipient_id = (select auth.uid())
     and m.read_at is null and not m.deleted_by_recipient
$$;
comment on function public.unread_message_count() is
  'The unread badge: the caller''s received messages neither read nor deleted from their side (RLS applies).';
revoke execute on function public.unread_message_count() from public, anon;
grant execute on function public.unread_message_count() to authenticated;

create or replace function public.mark_thread_read(p_thread_id uuid) returns integer
language plpgsql volatile security invoker set search_path = ''
as $$
declare
  me uuid := auth.uid();
  marked integer;
begin
  if not exists (select 1 from public.message_threads t where t.id = p_thread_id) then
    return null;
  end if;
  update public.messages m set read_at = now()
   where m.thread_id = p_thread_id and m.recipient_id = me
     and m.read_at is null and not m.deleted_by_recipient;
  get diagnostics marked = row_count;
  return marked;
end
$$;
comment on function public.mark_thread_read(uuid) is
  'Marks the caller''s unread received messages of a thread read; the number marked, null when the caller is not in the thread.';
revoke execute on function public.mark_thread_read(uuid) from public, anon;
grant execute on function public.mark_thread_read(uuid) to authenticated;
