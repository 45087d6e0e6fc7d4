-- What billing-checkout and billing-portal need from the database, asked with the caller's own
-- token: the caller's billing account (their organization, when they manage its billing), and
-- recording its Stripe customer once. Both functions check the caller themselves (security
-- definer), so no service-role key is involved; an impersonation or other read-only session
-- buys nothing.

-- ## Read-only tokens
-- private.is_read_only() also answers true for an organization whose subscription lapsed, which
-- is exactly when its billing admin must be able to pay; billing refuses only the token kinds.
create or replace function private.has_read_only_token() returns boolean
language sql stable set search_path = ''
as $$
  select coalesce((auth.jwt() ->> 'read_only')::boolean, false)
      or coalesce(auth.jwt() ? 'impersonator', false)
$$;
comment on function private.has_read_only_token() is
  'True for a read-only or impersonation token (claim read_only, or any impersonator).';
grant execute on function private.has_read_only_token() to authenticated, service_role;

-- The caller's organization when they manage its billing in their own session; else 42501.
create or replace function private.my_billing_org() returns uuid
language plpgsql stable security definer set search_path = ''
as $$
declare
  org uuid := private.my_org_id();
begin
  if org is null or private.has_read_only_token()
     or not exists (select 1 from private.billing_org_ids() b where b = org) then
    raise exception 'only the organization''s enterprise admin (or an individual account''s owner) manages billing'
      using errcode = '42501';
  end if;
  return org;
end
$$;
comment on function private.my_billing_org() is
  'The caller''s organization if they manage its billing (enterprise admin, individual account '
  'owner) with their own token; raises 42501 otherwise.';
grant execute on function private.my_billing_org() to authenticated;

-- ## The caller's billing account
create or replace function public.billing_account()
returns table (org_id uuid, org_name text, org_kind text, billing_email text,
               stripe_customer_id text, member_count integer)
language plpgsql stable security definer set search_path = ''
as $$
declare
  org uuid := private.my_billing_org();
begin
  return query
    select o.id, o.name, o.kind, u.email::text, c.stripe_customer_id,
           (select count(*)::integer from public.memberships m where m.org_id = o.id)
      from public.organizations o
      join auth.users u on u.id = (select auth.uid())
      left join public.stripe_customers c on c.org_id = o.id
     where o.id = org;
end
$$;
comment on function public.billing_account() is
  'The caller''s organization as billing sees it (name, kind, billing e-mail, Stripe customer, '
  'members) when the caller manages its billing; 42501 for anyone else or a read-only session.';
revoke execute on function public.billing_account() from public, anon;
grant execute on function public.billing_account() to authenticated;

-- ## Recording the Stripe customer
-- Concurrent checkouts may each create a customer at Stripe (the same one: their requests share
-- an Idempotency-Key derived from the organization); the first row wins and every caller gets it.
create or replace function public.record_stripe_customer(customer_id text)
returns text
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := private.my_billing_org();
  kept text;
begin
  if customer_id is null or customer_id !~ '^cus_[A-Za-z0-9_]+$' then
    raise exception 'not a Stripe customer id' using errcode = '22023';
  end if;
  insert into public.stripe_customers (org_id, stripe_customer_id, email)
  select org, customer_id, u.email from auth.users u where u.id = (select auth.uid())
  on conflict on constraint stripe_customers_pkey do nothing;
  select c.stripe_customer_id into kept from public.stripe_customers c where c.org_id = org;
  return kept;
end
$$;
comment on function public.record_stripe_customer(text) is
  'Records the Stripe customer of the caller''s organization unless one is recorded; returns the '
  'recorded one. Billing admins only (see billing_account()).';
revoke execute on function public.record_stripe_customer(text) from public, anon;
grant execute on function public.record_stripe_customer(text) to authenticated;
