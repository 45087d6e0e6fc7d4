-- An enterprise organization never loses its last enterprise admin by an edit: someone must
-- always be able to manage billing and members. Deleting the organization (or the admin's auth
-- user) still removes the membership.

create or replace function private.keep_an_enterprise_admin() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if old.role <> 'enterprise_admin'
     or (tg_op = 'UPDATE' and new.role = 'enterprise_admin' and new.org_id = old.org_id)
     or not exists (select 1 from public.organizations where id = old.org_id)
     or not exists (select 1 from auth.users where id = old.user_id)
     or exists (select 1 from public.memberships
                 where org_id = old.org_id and role = 'enterprise_admin' and user_id <> old.user_id)
  then
    return coalesce(new, old);
  end if;
  raise exception 'organization % would have no enterprise admin left', old.org_id
    using errcode = 'check_violation', hint = 'Make another member enterprise admin first.';
end
$$;
comment on function private.keep_an_enterprise_admin() is
  'Trigger: refuses to remove or demote the last enterprise admin of an organization.';
create trigger memberships_keep_an_enterprise_admin
  before update of role, org_id or delete on public.memberships
  for each row execute function private.keep_an_enterprise_admin();
