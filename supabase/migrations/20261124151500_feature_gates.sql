-- Paid features are refused by the database too, not only by the functions: saving a what-if
-- scenario needs `what_if`, adding a referral rule needs `referral_rules` (messaging is gated in
-- its own migration). Reading and deleting stay open so that a downgrade loses nothing.

drop policy "members save their own scenarios" on public.scenarios;
create policy "members with what-if save their own scenarios" on public.scenarios
  for insert to authenticated
  with check (
    user_id = (select auth.uid()) and org_id in (select private.active_org_ids())
    and (select private.feature_enabled('what_if'))
  );

drop policy "members add their own rules" on public.referral_rules;
create policy "members with referral rules add their own rules" on public.referral_rules
  for insert to authenticated
  with check (
    user_id = (select auth.uid()) and org_id in (select private.active_org_ids())
    and (select private.feature_enabled('referral_rules'))
  );
