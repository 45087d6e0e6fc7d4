-- What every row owned by a member (goals, activities, annotations, scenarios, referral rules)
-- shares: its org_id is the owner's organization, set by the database, and neither owner nor
-- organization changes afterwards — so policies may trust both, whoever writes the row.

-- ## Time zones
create or replace function private.is_time_zone(name text) returns boolean
language plpgsql immutable set search_path = ''
as $$
begin
  perform now() at time zone name;
  return true;
exception when invalid_parameter_value then
  return false;
end
$$;
comment on function private.is_time_zone(text) is
  'True when `name` is a time zone Postgres knows (IANA names such as Europe/Paris).';
grant execute on function private.is_time_zone(text) to authenticated, service_role;

alter table public.organizations
  add constraint organizations_time_zone_is_known check (private.is_time_zone(time_zone));
alter table public.profiles
  add constraint profiles_time_zone_is_known check (private.is_time_zone(time_zone));

-- ## Owner and organization
create or replace function private.set_member_org() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if new.user_id is null then
      return new;  -- the not-null constraint or the policy refuses it with its own error
    end if;
    select org_id into new.org_id from public.memberships where user_id = new.user_id;
    if new.org_id is null then
      raise exception 'user % is not a member of an organization', new.user_id
        using errcode = 'foreign_key_violation';
    end if;
  elsif new.user_id is distinct from old.user_id or new.org_id is distinct from old.org_id then
    raise exception 'the owner and organization of a % row never change', tg_table_name
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
comment on function private.set_member_org() is
  'Trigger: sets org_id to the owner''s organization on insert; refuses to change owner or org later.';
