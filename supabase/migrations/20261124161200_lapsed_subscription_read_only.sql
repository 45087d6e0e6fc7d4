-- Unpaid past grace means read-only in the database too, not only at sign-in: a member of an
-- organization whose subscription lapsed (private.subscription_standing) reads as before and
-- writes nothing, whatever session or token they use. Platform admins are never locked out.
--
-- The write guards ("read-only sessions insert/update/delete nothing", restrictive, on every
-- table the API writes, and delete_message_copy) all ask private.is_read_only(); it now answers
-- for the lapse too, so no policy changes and a new table's guards get it as well. The read
-- policies never call it, so reads cost what they did; a write pays one indexed look-up of the
-- caller's membership and subscription per statement (an init plan), measured by
-- scripts/bench-rls. Suspended organizations need nothing here: every write policy is scoped by
-- the active-organization helpers, which already leave them out (052 pgTAP checks it).

create or replace function private.is_read_only() returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  claims jsonb := auth.jwt();
  me uuid := auth.uid();
begin
  if coalesce((claims ->> 'read_only')::boolean, false) or coalesce(claims ? 'impersonator', false) then
    return true;
  end if;
  return exists (
           select 1 from public.memberships m
             join public.subscriptions s on s.org_id = m.org_id
            where m.user_id = me
              and private.subscription_standing(s.status, s.grace_until) = 'lapsed')
     and not exists (select 1 from public.platform_admins where user_id = me);
end
$$;
comment on function private.is_read_only() is
  'True when the caller may read but never write: a read-only token (claim `read_only: true` or any '
  '`impersonator`), or a member of an organization whose subscription lapsed (payment_required), '
  'platform admins excepted. The write guards of every table ask it.';
