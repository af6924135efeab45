#include "projections/command_validation.h"

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "projections/time_proto.h"

namespace kam::projections {

namespace {

using kam::v1::AccountEvent;

// ---------------------------------------------------------------------------
// Kinds and identities

const google::protobuf::FieldDescriptor* KindField(AccountEvent::KindCase kind) {
  return AccountEvent::descriptor()->FindFieldByNumber(static_cast<int>(kind));
}

// "OrderPlaced" for kOrderPlaced: the name people know the kind by.
std::string KindName(AccountEvent::KindCase kind) {
  const google::protobuf::FieldDescriptor* field = KindField(kind);
  if (field == nullptr || field->message_type() == nullptr) return "event without a kind";
  return field->message_type()->name();
}

// "order_placed" for kOrderPlaced: the field of the request.
std::string KindFieldName(AccountEvent::KindCase kind) {
  const google::protobuf::FieldDescriptor* field = KindField(kind);
  return field == nullptr ? std::string("kind") : field->name();
}

// The field holding the identity of events of this kind, or nullptr.
const char* IdentityFieldName(AccountEvent::KindCase kind) {
  switch (kind) {
    case AccountEvent::kContactAdded:
    case AccountEvent::kContactChanged:
    case AccountEvent::kContactLeft:
      return "contact_id";
    case AccountEvent::kComplaintFiled:
    case AccountEvent::kComplaintResolved:
      return "complaint_id";
    case AccountEvent::kOrderPlaced:
    case AccountEvent::kOrderDelivered:
    case AccountEvent::kOrderCancelled:
      return "order_id";
    case AccountEvent::kAgreementSigned:
    case AccountEvent::kAgreementEnded:
      return "agreement_id";
    case AccountEvent::kProductLaunched:
      return "product_id";
    case AccountEvent::kEventCorrected:
      return "corrected_event_id";
    case AccountEvent::kEventRetracted:
      return "retracted_event_id";
    default:
      return nullptr;
  }
}

// The value of the identity field; empty for kinds without one.
std::string IdentityOf(const AccountEvent& event) {
  const char* name = IdentityFieldName(event.kind_case());
  if (name == nullptr) return "";
  const google::protobuf::FieldDescriptor* kind_field = KindField(event.kind_case());
  const google::protobuf::Message& body = event.GetReflection()->GetMessage(event, kind_field);
  const google::protobuf::FieldDescriptor* id_field = body.GetDescriptor()->FindFieldByName(name);
  return body.GetReflection()->GetString(body, id_field);
}

bool IsAmendment(AccountEvent::KindCase kind) {
  return kind == AccountEvent::kEventCorrected || kind == AccountEvent::kEventRetracted;
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

}  // namespace

// ---------------------------------------------------------------------------
// RecordedState

void RecordedState::Apply(const StoredEvent& e) {
  RecordedEntry entry;
  entry.event_id = e.event_id;
  entry.version = e.version;
  entry.kind = e.event.kind_case();
  entry.identity = IdentityOf(e.event);
  entry.original_occurred_at = e.occurred_at;
  entry.occurred_at = e.occurred_at;
  if (e.event.has_event_corrected()) {
    const AccountEvent& replacement = e.event.event_corrected().replacement();
    entry.occurred_at = replacement.has_occurred_at() ? TimeFromProto(replacement.occurred_at())
                                                      : absl::InfinitePast();
  }
  by_event_id_.emplace(entry.event_id, entries_.size());
  entries_.push_back(std::move(entry));
  // A correction may move an occurred_at and a retraction undo any fact:
  // both are rare, so the derived state is simply folded again.
  if (IsAmendment(entries_.back().kind)) {
    Refold();
  } else {
    FoldEntry(entries_.back());
  }
}

const RecordedEntry* RecordedState::Find(absl::string_view event_id) const {
  auto it = by_event_id_.find(event_id);
  return it == by_event_id_.end() ? nullptr : &entries_[it->second];
}

namespace {

const RecordedState::Tracked* Lookup(
    const absl::flat_hash_map<std::string, RecordedState::Tracked>& map, absl::string_view id) {
  auto it = map.find(id);
  return it == map.end() ? nullptr : &it->second;
}

// Marks a known identity inactive; an unknown one stays unknown.
void Deactivate(absl::flat_hash_map<std::string, RecordedState::Tracked>& map,
                const RecordedEntry& entry) {
  auto it = map.find(entry.identity);
  if (it != map.end()) it->second = {false, entry.event_id};
}

}  // namespace

const RecordedState::Tracked* RecordedState::Complaint(absl::string_view id) const {
  return Lookup(complaints_, id);
}
const RecordedState::Tracked* RecordedState::Contact(absl::string_view id) const {
  return Lookup(contacts_, id);
}
const RecordedState::Tracked* RecordedState::Agreement(absl::string_view id) const {
  return Lookup(agreements_, id);
}
const RecordedState::Tracked* RecordedState::Order(absl::string_view id) const {
  return Lookup(orders_, id);
}
const RecordedState::Tracked* RecordedState::Product(absl::string_view id) const {
  return Lookup(products_, id);
}

void RecordedState::FoldEntry(const RecordedEntry& entry) {
  switch (entry.kind) {
    case AccountEvent::kAccountOpened:
      if (opened_event_id_.empty()) {
        opened_event_id_ = entry.event_id;
        opened_at_ = entry.occurred_at;
      }
      break;
    case AccountEvent::kContactAdded:
      contacts_[entry.identity] = {true, entry.event_id};
      break;
    case AccountEvent::kContactLeft:
      Deactivate(contacts_, entry);
      break;
    case AccountEvent::kComplaintFiled:
      complaints_[entry.identity] = {true, entry.event_id};
      break;
    case AccountEvent::kComplaintResolved:
      Deactivate(complaints_, entry);
      break;
    case AccountEvent::kOrderPlaced:
      orders_[entry.identity] = {true, entry.event_id};
      break;
    case AccountEvent::kOrderCancelled:
      Deactivate(orders_, entry);
      break;
    case AccountEvent::kAgreementSigned:
      agreements_[entry.identity] = {true, entry.event_id};
      break;
    case AccountEvent::kAgreementEnded:
      Deactivate(agreements_, entry);
      break;
    case AccountEvent::kProductLaunched:
      products_[entry.identity] = {true, entry.event_id};
      break;
    default:
      break;
  }
}

void RecordedState::Refold() {
  opened_event_id_.clear();
  opened_at_ = absl::InfinitePast();
  complaints_.clear();
  contacts_.clear();
  agreements_.clear();
  orders_.clear();
  products_.clear();
  for (RecordedEntry& entry : entries_) {
    entry.retracted = false;
    if (entry.kind != AccountEvent::kEventCorrected) entry.occurred_at = entry.original_occurred_at;
  }
  // Retractions are final (an EventRetracted is never retracted), so they
  // can be marked first; then the last correction not retracted wins.
  for (const RecordedEntry& entry : entries_) {
    if (entry.kind != AccountEvent::kEventRetracted) continue;
    auto it = by_event_id_.find(entry.identity);
    if (it != by_event_id_.end()) entries_[it->second].retracted = true;
  }
  for (const RecordedEntry& entry : entries_) {
    if (entry.kind != AccountEvent::kEventCorrected || entry.retracted) continue;
    auto it = by_event_id_.find(entry.identity);
    if (it == by_event_id_.end()) continue;
    RecordedEntry& target = entries_[it->second];
    target.occurred_at =
        entry.occurred_at == absl::InfinitePast() ? target.original_occurred_at : entry.occurred_at;
  }
  for (const RecordedEntry& entry : entries_) {
    if (!entry.retracted && !IsAmendment(entry.kind)) FoldEntry(entry);
  }
}

// ---------------------------------------------------------------------------
// Checks of the event on its own

namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status Precondition(absl::string_view field, absl::string_view problem) {
  return absl::FailedPreconditionError(absl::StrCat(field, ": ", problem));
}

absl::Status Required(absl::string_view path, absl::string_view field, absl::string_view what) {
  return Invalid(absl::StrCat(path, ".", field), absl::StrCat("required (", what, ")"));
}

// "Money is an integer of minor units with an ISO-4217 currency code ... an
// amount in another currency is rejected with a clear error (no silent
// conversion)." Amounts are never negative.
absl::Status ValidateMoney(const kam::v1::Money& money, const std::string& path,
                           const Rules& rules) {
  if (money.minor_units() < 0) {
    return Invalid(absl::StrCat(path, ".minor_units"),
                   absl::StrCat(money.minor_units(), " is negative; amounts are not negative"));
  }
  if (money.currency_code() != rules.reporting_currency) {
    return Invalid(absl::StrCat(path, ".currency_code"),
                   absl::StrCat("'", money.currency_code(), "' is not the reporting currency '",
                                rules.reporting_currency,
                                "'; record amounts in it (kam never converts currencies)"));
  }
  return absl::OkStatus();
}

// `index` is -1 for a singular field. The path is built only on error.
absl::Status ValidateEnum(const google::protobuf::FieldDescriptor* field, int value,
                          absl::string_view path, int index) {
  if (field->enum_type()->FindValueByNumber(value) != nullptr) return absl::OkStatus();
  return Invalid(absl::StrCat(path, ".", field->name(),
                              index < 0 ? std::string() : absl::StrCat("[", index, "]")),
                 absl::StrCat(value, " is not a value of ", field->enum_type()->name()));
}

// Proto3 enums accept any number; only the named values mean something.
absl::Status ValidateEnums(const google::protobuf::Message& message, absl::string_view path) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    absl::Status status;
    if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_ENUM) {
      if (!field->is_repeated()) {
        status = ValidateEnum(field, reflection->GetEnumValue(message, field), path, -1);
      }
      for (int i = 0;
           field->is_repeated() && status.ok() && i < reflection->FieldSize(message, field); ++i) {
        status = ValidateEnum(field, reflection->GetRepeatedEnumValue(message, field, i), path, i);
      }
    } else if (field->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
      const std::string field_path = absl::StrCat(path, ".", field->name());
      if (!field->is_repeated()) {
        status = ValidateEnums(reflection->GetMessage(message, field), field_path);
      }
      for (int i = 0;
           field->is_repeated() && status.ok() && i < reflection->FieldSize(message, field); ++i) {
        status = ValidateEnums(reflection->GetRepeatedMessage(message, field, i),
                               absl::StrCat(field_path, "[", i, "]"));
      }
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// "Not in the future (beyond clock skew), not before 2000."
absl::Status ValidateOccurredAt(const AccountEvent& event, const std::string& path, bool required,
                                absl::Time now) {
  const std::string field = absl::StrCat(path, ".occurred_at");
  if (!event.has_occurred_at()) {
    if (!required) return absl::OkStatus();
    return Invalid(field, "required (when it happened, business time)");
  }
  const google::protobuf::Timestamp& t = event.occurred_at();
  if (t.nanos() < 0 || t.nanos() > 999999999) {
    return Invalid(field, absl::StrCat("nanos ", t.nanos(), " is outside 0-999999999"));
  }
  const absl::Time occurred_at = TimeFromProto(t);
  if (occurred_at < EarliestOccurredAt()) {
    return Invalid(field, absl::StrCat(TimeText(occurred_at),
                                       " is before 2000-01-01, the earliest time kam records"));
  }
  if (occurred_at > now + kMaxClockSkew) {
    return Invalid(
        field, absl::StrCat(TimeText(occurred_at), " is in the future (server time ", TimeText(now),
                            ", allowing ", absl::FormatDuration(kMaxClockSkew), " of clock skew)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDossier(const kam::v1::AccountDossier& dossier, const std::string& path,
                             const Rules& rules) {
  if (dossier.has_market_size()) {
    absl::Status s = ValidateMoney(dossier.market_size(), path + ".market_size", rules);
    if (!s.ok()) return s;
  }
  if (dossier.has_funds()) {
    absl::Status s = ValidateMoney(dossier.funds(), path + ".funds", rules);
    if (!s.ok()) return s;
  }
  for (int i = 0; i < dossier.volumes_size(); ++i) {
    if (!dossier.volumes(i).has_annual_amount()) continue;
    absl::Status s = ValidateMoney(dossier.volumes(i).annual_amount(),
                                   absl::StrCat(path, ".volumes[", i, "].annual_amount"), rules);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ValidateOrderPlaced(const kam::v1::OrderPlaced& order, const std::string& path,
                                 const Rules& rules) {
  if (order.order_id().empty()) return Required(path, "order_id", "unique within the account");
  if (!order.has_amount()) return Required(path, "amount", "the order's total");
  absl::Status s = ValidateMoney(order.amount(), path + ".amount", rules);
  for (int i = 0; s.ok() && i < order.lines_size(); ++i) {
    if (!order.lines(i).has_amount()) continue;
    s = ValidateMoney(order.lines(i).amount(), absl::StrCat(path, ".lines[", i, "].amount"), rules);
  }
  return s;
}

absl::Status ValidateProspect(const kam::v1::ProspectAssessed& prospect, const std::string& path,
                              const Rules& rules) {
  if (prospect.has_expected_annual_revenue()) {
    absl::Status s =
        ValidateMoney(prospect.expected_annual_revenue(), path + ".expected_annual_revenue", rules);
    if (!s.ok()) return s;
  }
  // Written so that NaN fails too.
  if (!(prospect.intent() >= 0.0 && prospect.intent() <= 1.0)) {
    return Invalid(path + ".intent",
                   absl::StrCat(prospect.intent(), " is outside 0.0-1.0 (a likelihood)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCorrectionFields(const kam::v1::EventCorrected& correction,
                                      const std::string& path, absl::Time now, const Rules& rules);

// The kind-specific checks that need no state. `path` names the kind's
// message, e.g. "event.order_placed".
absl::Status ValidateKindFields(const AccountEvent& event, const std::string& path, absl::Time now,
                                const Rules& rules) {
  switch (event.kind_case()) {
    case AccountEvent::kAccountOpened:
      if (event.account_opened().name().empty()) {
        return Required(path, "name", "the account's name");
      }
      return absl::OkStatus();
    case AccountEvent::kAccountProfileUpdated:
      return ValidateDossier(event.account_profile_updated().dossier(), path + ".dossier", rules);
    case AccountEvent::kAccountManagerAssigned:
      if (event.account_manager_assigned().account_manager().empty()) {
        return Required(path, "account_manager", "our person who takes over");
      }
      return absl::OkStatus();
    case AccountEvent::kComplaintFiled: {
      const uint32_t severity = event.complaint_filed().severity();
      if (severity < 1 || severity > 4) {
        return Invalid(path + ".severity",
                       absl::StrCat(severity, " is outside 1-4 (1 minor, 4 most severe)"));
      }
      break;
    }
    case AccountEvent::kOrderPlaced:
      return ValidateOrderPlaced(event.order_placed(), path, rules);
    case AccountEvent::kPurchaseShareAssessed: {
      const uint32_t share = event.purchase_share_assessed().share_percent();
      if (share > 100) {
        return Invalid(path + ".share_percent",
                       absl::StrCat(share, " is outside 0-100 (whole percent)"));
      }
      return absl::OkStatus();
    }
    case AccountEvent::kProspectAssessed:
      return ValidateProspect(event.prospect_assessed(), path, rules);
    case AccountEvent::kEventCorrected:
      return ValidateCorrectionFields(event.event_corrected(), path, now, rules);
    default:
      break;
  }
  const char* identity = IdentityFieldName(event.kind_case());
  if (identity != nullptr && IdentityOf(event).empty()) {
    return Required(path, identity, "the id this event is about");
  }
  return absl::OkStatus();
}

absl::Status ValidateFields(const AccountEvent& event, const std::string& path,
                            bool occurred_at_required, absl::Time now, const Rules& rules) {
  if (event.kind_case() == AccountEvent::KIND_NOT_SET) {
    return Invalid(path,
                   "no event kind is set; set exactly one of account_opened, "
                   "contact_added, ..., product_launched, event_corrected, "
                   "event_retracted");
  }
  absl::Status s = ValidateOccurredAt(event, path, occurred_at_required, now);
  if (s.ok()) s = ValidateEnums(event, path);
  if (s.ok()) {
    s = ValidateKindFields(event, absl::StrCat(path, ".", KindFieldName(event.kind_case())), now,
                           rules);
  }
  return s;
}

absl::Status ValidateCorrectionFields(const kam::v1::EventCorrected& correction,
                                      const std::string& path, absl::Time now, const Rules& rules) {
  if (correction.corrected_event_id().empty()) {
    return Required(path, "corrected_event_id", "the id of the event corrected");
  }
  const std::string replacement_path = path + ".replacement";
  const AccountEvent& replacement = correction.replacement();
  if (replacement.kind_case() == AccountEvent::KIND_NOT_SET) {
    return Invalid(replacement_path,
                   "required: the whole corrected event, of the same kind as the original");
  }
  if (IsAmendment(replacement.kind_case())) {
    return Invalid(replacement_path,
                   absl::StrCat("a ", KindName(replacement.kind_case()),
                                " cannot be a replacement; correct the original event"));
  }
  // Without its own occurred_at the replacement keeps the original's.
  return ValidateFields(replacement, replacement_path, false, now, rules);
}

// ---------------------------------------------------------------------------
// Checks against the recorded state

std::string AccountLabel(absl::string_view account_id) {
  return account_id.empty() ? std::string("the catalog")
                            : absl::StrCat("account '", account_id, "'");
}

// "ProductLaunched (and a correction or retraction of one) is recorded with
// an empty account_id and goes to the catalog stream; any other event needs
// an account."
absl::Status ValidateStreamOfKind(absl::string_view account_id, const AccountEvent& event) {
  if (event.has_event_retracted()) return absl::OkStatus();  // Its target decides.
  const AccountEvent::KindCase kind = event.has_event_corrected()
                                          ? event.event_corrected().replacement().kind_case()
                                          : event.kind_case();
  const bool catalog_kind = kind == AccountEvent::kProductLaunched;
  if (account_id.empty() && !catalog_kind) {
    return Invalid("account_id", absl::StrCat("required for a ", KindName(kind),
                                              "; only ProductLaunched and its corrections "
                                              "are recorded without an account"));
  }
  if (!account_id.empty() && catalog_kind) {
    return Invalid("account_id",
                   "must be empty for a ProductLaunched and its corrections: our "
                   "catalog is recorded without an account, on the 'catalog' "
                   "stream");
  }
  return absl::OkStatus();
}

// "An account exists from its AccountOpened; ... no event of the account may
// occur before it."
absl::Status ValidateAccountExists(absl::string_view account_id, const RecordedState& recorded,
                                   const AccountEvent& event) {
  if (event.has_account_opened()) {
    if (!recorded.opened()) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat(
        "event.account_opened: account '", account_id, "' is already open (event '",
        recorded.opened_event_id(), "'); a changed name or manager is an EventCorrected of it"));
  }
  if (!recorded.opened()) {
    return absl::NotFoundError(absl::StrCat("account_id: account '", account_id,
                                            "' is not open; record its AccountOpened first"));
  }
  const absl::Time occurred_at = TimeFromProto(event.occurred_at());
  if (occurred_at < recorded.opened_at()) {
    return Precondition("event.occurred_at",
                        absl::StrCat(TimeText(occurred_at), " is before account '", account_id,
                                     "' was opened at ", TimeText(recorded.opened_at()),
                                     "; no event of an account may occur before its opening"));
  }
  return absl::OkStatus();
}

std::string Field(const AccountEvent& event, absl::string_view field) {
  return absl::StrCat("event.", KindFieldName(event.kind_case()), ".", field);
}

absl::Status ValidateContact(absl::string_view account_id, const RecordedState& recorded,
                             const AccountEvent& event) {
  const std::string id = IdentityOf(event);
  const RecordedState::Tracked* contact = recorded.Contact(id);
  const bool active = contact != nullptr && contact->active;
  if (event.has_contact_added()) {
    if (!active) return absl::OkStatus();  // New, or back after leaving.
    return Precondition(Field(event, "contact_id"),
                        absl::StrCat("contact '", id, "' is already active at ",
                                     AccountLabel(account_id), " (event '", contact->event_id,
                                     "'); a new title, role or level is a ContactChanged"));
  }
  if (active) return absl::OkStatus();
  return Precondition(Field(event, "contact_id"),
                      absl::StrCat("contact '", id, "' is not active at ", AccountLabel(account_id),
                                   contact == nullptr ? " (never added)"
                                                      : absl::StrCat(" (left in event '",
                                                                     contact->event_id, "')")));
}

absl::Status ValidateComplaint(absl::string_view account_id, const RecordedState& recorded,
                               const AccountEvent& event) {
  const std::string id = IdentityOf(event);
  const RecordedState::Tracked* complaint = recorded.Complaint(id);
  if (event.has_complaint_filed()) {
    if (complaint == nullptr) return absl::OkStatus();
    return Precondition(
        Field(event, "complaint_id"),
        absl::StrCat("complaint '", id, "' was already filed at ", AccountLabel(account_id),
                     "; complaint ids are unique "
                     "within the account"));
  }
  if (complaint != nullptr && complaint->active) return absl::OkStatus();
  return Precondition(
      Field(event, "complaint_id"),
      absl::StrCat("complaint '", id, "' is not open",
                   complaint == nullptr
                       ? absl::StrCat(" (never filed at ", AccountLabel(account_id), ")")
                       : absl::StrCat(" (resolved in event '", complaint->event_id, "')")));
}

absl::Status ValidateOrder(absl::string_view account_id, const RecordedState& recorded,
                           const AccountEvent& event) {
  const std::string id = IdentityOf(event);
  const RecordedState::Tracked* order = recorded.Order(id);
  if (event.has_order_placed()) {
    if (order == nullptr) return absl::OkStatus();
    return Precondition(Field(event, "order_id"),
                        absl::StrCat("order '", id, "' was already placed at ",
                                     AccountLabel(account_id), " (event '", order->event_id,
                                     "'); order ids are unique within the account, a "
                                     "mistaken order is corrected with an EventCorrected"));
  }
  if (order != nullptr) return absl::OkStatus();
  return Precondition(Field(event, "order_id"),
                      absl::StrCat("no order '", id, "' was placed at ", AccountLabel(account_id)));
}

absl::Status ValidateAgreement(absl::string_view account_id, const RecordedState& recorded,
                               const AccountEvent& event) {
  const std::string id = IdentityOf(event);
  const RecordedState::Tracked* agreement = recorded.Agreement(id);
  if (event.has_agreement_signed()) {
    if (agreement == nullptr) return absl::OkStatus();
    return Precondition(Field(event, "agreement_id"),
                        absl::StrCat("agreement '", id, "' was already signed at ",
                                     AccountLabel(account_id), " (event '", agreement->event_id,
                                     "'); agreement ids are unique within the account"));
  }
  if (agreement != nullptr && agreement->active) return absl::OkStatus();
  return Precondition(
      Field(event, "agreement_id"),
      absl::StrCat("agreement '", id, "' is not active at ", AccountLabel(account_id),
                   agreement == nullptr
                       ? " (never signed)"
                       : absl::StrCat(" (ended in event '", agreement->event_id, "')")));
}

absl::Status ValidateProduct(const RecordedState& recorded, const AccountEvent& event) {
  const std::string id = IdentityOf(event);
  const RecordedState::Tracked* product = recorded.Product(id);
  if (product == nullptr) return absl::OkStatus();
  return Precondition(
      Field(event, "product_id"),
      absl::StrCat("product '", id, "' was already launched (event '", product->event_id,
                   "'); a mistaken launch is corrected "
                   "with an EventCorrected"));
}

// The event an EventCorrected or EventRetracted names, if it may be amended:
// "Refused at recording: correcting an EventCorrected, correcting or
// retracting an EventRetracted, correcting or retracting an event that is
// already retracted."
absl::StatusOr<const RecordedEntry*> AmendableTarget(absl::string_view account_id,
                                                     const RecordedState& recorded,
                                                     const AccountEvent& event) {
  const bool correcting = event.has_event_corrected();
  const std::string field = Field(event, correcting ? "corrected_event_id" : "retracted_event_id");
  const std::string id = IdentityOf(event);
  const RecordedEntry* target = recorded.Find(id);
  if (target == nullptr) {
    return Precondition(
        field, absl::StrCat("no event '", id, "' was recorded at ", AccountLabel(account_id),
                            "; name an event of the same stream"));
  }
  if (target->kind == AccountEvent::kEventRetracted) {
    return Precondition(field, absl::StrCat("event '", id,
                                            "' is an EventRetracted, which can "
                                            "be neither corrected nor retracted"));
  }
  if (target->kind == AccountEvent::kEventCorrected && correcting) {
    return Precondition(field, absl::StrCat("event '", id,
                                            "' is an EventCorrected, which cannot "
                                            "be corrected; correct event '",
                                            target->identity, "' again instead"));
  }
  if (target->retracted) {
    return Precondition(field, absl::StrCat("event '", id,
                                            "' is retracted; it can be neither "
                                            "corrected nor retracted"));
  }
  return target;
}

// The earliest occurred_at of the account's events other than its opening,
// as they read now; InfiniteFuture when there is none.
absl::Time EarliestFactAfterOpening(const RecordedState& recorded) {
  absl::Time earliest = absl::InfiniteFuture();
  for (const RecordedEntry& entry : recorded.entries()) {
    if (entry.retracted || IsAmendment(entry.kind) ||
        entry.event_id == recorded.opened_event_id()) {
      continue;
    }
    earliest = std::min(earliest, entry.occurred_at);
  }
  return earliest;
}

// "A replacement of another kind or with other identity fields (order,
// complaint, contact, agreement or product id)" is refused; the replacement
// may move occurred_at, but not before the opening (nor the opening after
// any other event).
absl::Status ValidateReplacement(absl::string_view account_id, const RecordedState& recorded,
                                 const RecordedEntry& target, const AccountEvent& replacement) {
  const std::string path = "event.event_corrected.replacement";
  if (replacement.kind_case() != target.kind) {
    return Precondition(
        path, absl::StrCat("a ", KindName(replacement.kind_case()), " cannot replace the ",
                           KindName(target.kind), " '", target.event_id,
                           "'; a replacement is of the same "
                           "kind (retract the event and record a new one)"));
  }
  const std::string identity = IdentityOf(replacement);
  if (identity != target.identity) {
    return Precondition(
        absl::StrCat(path, ".", KindFieldName(target.kind), ".", IdentityFieldName(target.kind)),
        absl::StrCat("'", identity, "' differs from '", target.identity, "' of event '",
                     target.event_id,
                     "'; identity fields cannot be corrected (retract the "
                     "event and record a new one)"));
  }
  if (!replacement.has_occurred_at() || account_id.empty()) return absl::OkStatus();
  const absl::Time occurred_at = TimeFromProto(replacement.occurred_at());
  if (target.event_id == recorded.opened_event_id()) {
    const absl::Time earliest = EarliestFactAfterOpening(recorded);
    if (occurred_at <= earliest) return absl::OkStatus();
    return Precondition(
        path + ".occurred_at",
        absl::StrCat(TimeText(occurred_at),
                     " is after the account's event "
                     "that occurred at ",
                     TimeText(earliest), "; no event of an account may occur before its opening"));
  }
  if (occurred_at >= recorded.opened_at()) return absl::OkStatus();
  return Precondition(path + ".occurred_at",
                      absl::StrCat(TimeText(occurred_at), " is before ", AccountLabel(account_id),
                                   " was opened at ", TimeText(recorded.opened_at())));
}

absl::Status ValidateAmendment(absl::string_view account_id, const RecordedState& recorded,
                               const AccountEvent& event) {
  absl::StatusOr<const RecordedEntry*> target = AmendableTarget(account_id, recorded, event);
  if (!target.ok()) return target.status();
  if (!event.has_event_corrected()) return absl::OkStatus();
  return ValidateReplacement(account_id, recorded, **target, event.event_corrected().replacement());
}

absl::Status ValidateAgainstState(absl::string_view account_id, const RecordedState& recorded,
                                  const AccountEvent& event) {
  switch (event.kind_case()) {
    case AccountEvent::kContactAdded:
    case AccountEvent::kContactChanged:
    case AccountEvent::kContactLeft:
      return ValidateContact(account_id, recorded, event);
    case AccountEvent::kComplaintFiled:
    case AccountEvent::kComplaintResolved:
      return ValidateComplaint(account_id, recorded, event);
    case AccountEvent::kOrderPlaced:
    case AccountEvent::kOrderDelivered:
    case AccountEvent::kOrderCancelled:
      return ValidateOrder(account_id, recorded, event);
    case AccountEvent::kAgreementSigned:
    case AccountEvent::kAgreementEnded:
      return ValidateAgreement(account_id, recorded, event);
    case AccountEvent::kProductLaunched:
      return ValidateProduct(recorded, event);
    case AccountEvent::kEventCorrected:
    case AccountEvent::kEventRetracted:
      return ValidateAmendment(account_id, recorded, event);
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status ValidateEventFields(const AccountEvent& event, absl::string_view path, absl::Time now,
                                 const Rules& rules) {
  return ValidateFields(event, std::string(path), true, now, rules);
}

absl::Status ValidateCommand(absl::string_view account_id, const RecordedState& recorded,
                             const AccountEvent& event, absl::Time now, const Rules& rules) {
  absl::Status s = ValidateEventFields(event, "event", now, rules);
  if (s.ok()) s = ValidateStreamOfKind(account_id, event);
  if (s.ok() && !account_id.empty()) s = ValidateAccountExists(account_id, recorded, event);
  if (s.ok()) s = ValidateAgainstState(account_id, recorded, event);
  return s;
}

std::string EventTypeOf(const AccountEvent& event) {
  const google::protobuf::FieldDescriptor* field = KindField(event.kind_case());
  if (field == nullptr || field->message_type() == nullptr) return "";
  return field->message_type()->full_name();
}

}  // namespace kam::projections
