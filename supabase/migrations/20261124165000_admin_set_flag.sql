-- Platform admins set and unset flags per global, org or user scope through one RPC that checks
-- the caller itself (security definer): no service-role key is involved, and the audit row comes
-- from the feature_flags trigger in the same transaction, naming the admin as its actor. An
-- impersonation or other read-only session sets nothing, whoever it belongs to.

create or replace function public.admin_set_flag(
  feature text, flag_scope public.flag_scope, target uuid default null, flag_value jsonb default null
) returns jsonb
language plpgsql security definer set search_path = ''
as $$
declare
  kept public.feature_flags;
  org uuid := case when flag_scope = 'org' then target end;
  member uuid := case when flag_scope = 'user' then target end;
begin
  if not private.is_platform_admin() or private.is_read_only() then
    raise exception 'only a platform admin in their own session sets flags' using errcode = '42501';
  end if;
  if not exists (select 1 from public.features f where f.key = feature) then
    raise exception 'no feature named %', feature using errcode = '22023';
  end if;
  if flag_scope = 'global' and target is not null then
    raise exception 'a global flag takes no target' using errcode = '22023';
  end if;
  if flag_scope <> 'global' and target is null then
    raise exception 'an org or user flag needs its target' using errcode = '22023';
  end if;
  if flag_value is null then
    delete from public.feature_flags f
     where f.key = feature and f.scope = flag_scope
       and f.org_id is not distinct from org and f.user_id is not distinct from member
    returning * into kept;
    return jsonb_build_object('flag', null, 'removed', case when found then to_jsonb(kept) end);
  end if;
  insert into public.feature_flags (key, scope, org_id, user_id, value, updated_by)
  values (feature, flag_scope, org, member, flag_value, auth.uid())
  on conflict on constraint feature_flags_one_value_per_target
  do update set value = excluded.value, updated_by = excluded.updated_by
  returning * into kept;
  return jsonb_build_object('flag', to_jsonb(kept), 'removed', null);
end
$$;
comment on function public.admin_set_flag(text, public.flag_scope, uuid, jsonb) is
  'Platform admins only (not in a read-only or impersonation session): sets a flag''s value for '
  'the scope''s target, or removes it when flag_value is null. Audited by the feature_flags trigger.';
revoke execute on function public.admin_set_flag(text, public.flag_scope, uuid, jsonb) from public, anon;
grant execute on function public.admin_set_flag(text, public.flag_scope, uuid, jsonb) to authenticated;
