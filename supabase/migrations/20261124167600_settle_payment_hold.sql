-- billing-holds: the billing admin of an organization captures or cancels a held pilot payment.
-- The function asks Stripe first, then records the outcome here with the admin's own token;
-- stripe-webhook may record the same outcome from Stripe's event. Both only move a hold out of
-- requires_capture, so whichever comes second changes nothing.

create or replace function public.settle_payment_hold(hold_id uuid, outcome text)
returns setof public.payment_holds
language plpgsql security definer set search_path = ''
as $$
declare
  org uuid := private.my_billing_org();
begin
  if outcome is null or outcome not in ('captured', 'canceled') then
    raise exception 'outcome must be captured or canceled' using errcode = '22023';
  end if;
  update public.payment_holds h
     set status = outcome,
         captured_at = case when outcome = 'captured' then now() end,
         canceled_at = case when outcome = 'canceled' then now() end
   where h.id = hold_id and h.org_id = org and h.status = 'requires_capture';
  return query select * from public.payment_holds h where h.id = hold_id and h.org_id = org;
end
$$;
comment on function public.settle_payment_hold(uuid, text) is
  'Records that the caller''s organization''s hold was captured or canceled at Stripe, if it is '
  'still open; answers the hold (none when it is not the organization''s). Billing admins only.';
revoke execute on function public.settle_payment_hold(uuid, text) from public, anon;
grant execute on function public.settle_payment_hold(uuid, text) to authenticated;
