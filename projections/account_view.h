// BuildAccountView: one account as it stood at (as_of, axis), every field of
// kam.v1.AccountView, with the reasons behind each classification. The ABC
// class comes from the portfolio-wide Pareto walk (AbcClasses in rules.h),
// which needs every account's revenue and so is computed by the caller.
//
//   AccountHistory history = SelectHistory("acme", events, catalog, as_of, axis);
//   absl::StatusOr<kam::v1::AccountView> view =
//       BuildAccountView(history, kam::v1::ABC_CLASS_A, rules);
//
// A pure function of its inputs; safe to call from any thread.

#ifndef KAM_PROJECTIONS_ACCOUNT_VIEW_H_
#define KAM_PROJECTIONS_ACCOUNT_VIEW_H_

#include <vector>

#include "absl/status/statusor.h"
#include "kam/v1/views.pb.h"
#include "projections/account_state.h"
#include "projections/fact.h"
#include "projections/rules_config.h"

namespace kam::projections {

// The account's view at (history.as_of, history.axis), evaluated with
// `rules`; abc_class is stored as given. NotFound when the history holds no
// AccountOpened (the account does not exist at as_of). InvalidArgument,
// naming the event, when an order or prospect amount is in a currency other
// than rules.reporting_currency (money is never converted).
absl::StatusOr<kam::v1::AccountView> BuildAccountView(const AccountHistory& history,
                                                      kam::v1::AbcClass abc_class,
                                                      const Rules& rules);

// The same from the history's state and stage history, folded by the
// caller (an AccountFold of `history`).
absl::StatusOr<kam::v1::AccountView> BuildAccountView(const AccountHistory& history,
                                                      const AccountState& state,
                                                      const std::vector<StageChange>& stages,
                                                      kam::v1::AbcClass abc_class,
                                                      const Rules& rules);

// The trailing-365-day net revenue of the account at history.as_of, for the
// portfolio's ABC walk: the same figure as the view's
// revenue.trailing_365_days. NotFound / InvalidArgument as BuildAccountView.
absl::StatusOr<int64_t> TrailingYearRevenue(const AccountHistory& history, const Rules& rules);
absl::StatusOr<int64_t> TrailingYearRevenue(const AccountHistory& history,
                                            const AccountState& state, const Rules& rules);

}  // namespace kam::projections

#endif  // KAM_PROJECTIONS_ACCOUNT_VIEW_H_
