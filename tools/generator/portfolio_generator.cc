#include "tools/generator/portfolio_generator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <iterator>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "eventstore/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "kam/v1/events.pb.h"

namespace kam::tools {
namespace {

using kam::v1::AccountEvent;

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;
constexpr int64_t kYear2000 = 946684800;  // 2000-01-01T00:00:00Z.
// Matches projections::AccountStream / kCatalogStream; the generator sits
// below projections and must not link it.
constexpr char kAccountStreamPrefix[] = "account-";
constexpr char kCatalogStream[] = "catalog";
// Recent events kept per account as targets of corrections and retractions.
constexpr int kRecentEvents = 4;
constexpr int kMaxCase = AccountEvent::kEventRetracted;

// ---------------------------------------------------------------------------
// Realistic vocabulary: a Jiangsu maker of industrial weighing equipment and
// its industrial customers all over China.

struct Region {
  const char* province;
  const char* city;
  const char* district;
  const char* short_name;
  const char* area_code;
};
constexpr Region kRegions[] = {
    {"江苏省", "苏州市", "张家港市", "张家港", "0512"},
    {"江苏省", "无锡市", "江阴市", "江阴", "0510"},
    {"江苏省", "苏州市", "常熟市", "常熟", "0512"},
    {"江苏省", "南通市", "如皋市", "如皋", "0513"},
    {"浙江省", "宁波市", "北仑区", "宁波", "0574"},
    {"浙江省", "杭州市", "萧山区", "萧山", "0571"},
    {"山东省", "青岛市", "黄岛区", "青岛", "0532"},
    {"山东省", "日照市", "岚山区", "日照", "0633"},
    {"河北省", "唐山市", "曹妃甸区", "唐山", "0315"},
    {"河北省", "邯郸市", "武安市", "武安", "0310"},
    {"广东省", "佛山市", "顺德区", "佛山", "0757"},
    {"广东省", "东莞市", "麻涌镇", "东莞", "0769"},
    {"湖北省", "武汉市", "青山区", "武汉", "027"},
    {"四川省", "成都市", "青白江区", "成都", "028"},
    {"辽宁省", "鞍山市", "铁东区", "鞍山", "0412"},
    {"安徽省", "马鞍山市", "雨山区", "马鞍山", "0555"},
    {"天津市", "天津市", "滨海新区", "天津", "022"},
    {"上海市", "上海市", "宝山区", "上海", "021"},
    {"山西省", "太原市", "小店区", "太原", "0351"},
    {"河南省", "郑州市", "中牟县", "郑州", "0371"},
};

struct Industry {
  const char* name;
  const char* name_part;
  const char* volume_category;
  const char* unit;
};
constexpr Industry kIndustries[] = {
    {"钢铁冶金", "钢铁", "铁矿石及废钢进厂", "t"}, {"港口物流", "港务物流", "散货吞吐", "t"},
    {"水泥建材", "建材", "熟料及水泥出厂", "t"},   {"化工", "化工", "化工原料进厂", "t"},
    {"粮油食品", "粮油", "粮食收储", "t"},         {"煤炭能源", "能源", "原煤外运", "t"},
    {"再生资源", "再生资源", "废旧物资回收", "t"}, {"饲料", "饲料", "饲料原料采购", "t"},
    {"有色金属", "铝业", "铝锭及铝型材", "t"},     {"涂料", "涂料", "涂料出厂", "t"},
    {"汽车零部件", "汽车部件", "铸锻件", "pcs"},
};

constexpr const char* kNameWords[] = {"宏达", "华信", "恒通", "金鼎", "永兴", "鑫源", "中联",
                                      "天成", "瑞丰", "博远", "东海", "远航", "德盛", "嘉禾",
                                      "汇通", "三元", "富民", "龙腾", "长兴", "润泰"};
constexpr const char* kNameSuffixes[] = {"有限公司", "股份有限公司", "集团有限公司"};
constexpr const char* kStreets[] = {"港城大道", "长江路", "工业园路", "滨江路",
                                    "经开大道", "新港路", "冶金路",   "物流园大道"};

// Our account managers and the others of ours who visit.
constexpr const char* kManagers[] = {"王建国", "李娜", "张伟", "刘洋", "陈静", "杨帆",
                                     "赵磊",   "黄敏", "周强", "吴婷", "徐涛", "孙丽"};
constexpr const char* kOurExecutives[] = {"孙志远", "钱海燕"};
constexpr const char* kOurSalesManagers[] = {"马骏", "何晓峰"};
constexpr const char* kOurEngineers[] = {"郑宏", "冯晓明", "蒋立新"};
constexpr char kOurBrand[] = "苏衡";

constexpr const char* kCompetitors[] = {"华衡仪器", "金钟衡器",     "昌隆称重",
                                        "博泰传感", "恒丰电子衡器", "远东计量"};

constexpr const char* kSurnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴",
                                     "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"};
constexpr const char* kGivenNames[] = {"建华", "志强", "秀英", "海峰", "丽娟", "国庆", "晓东",
                                       "文杰", "春梅", "永刚", "红霞", "卫东", "伟",   "静",
                                       "磊",   "敏",   "军",   "洋",   "勇",   "艳"};
constexpr const char* kHobbies[] = {"钓鱼", "乒乓球", "书法", "羽毛球",
                                    "摄影", "登山",   "品茶", "象棋"};
constexpr const char* kFamilyNotes[] = {"孩子今年高考", "女儿在上海读大学", "爱人是中学老师",
                                        "父母同住，孝顺", "儿子刚参加工作"};

struct Title {
  const char* title;
  const char* department;
  kam::v1::ContactRole role;
  kam::v1::ContactLevel level;
};
constexpr Title kTitles[] = {
    {"采购部经理", "采购部", kam::v1::CONTACT_ROLE_PURCHASER, kam::v1::CONTACT_LEVEL_MANAGEMENT},
    {"采购员", "采购部", kam::v1::CONTACT_ROLE_PURCHASER, kam::v1::CONTACT_LEVEL_OPERATIONAL},
    {"总经理", "总经理办公室", kam::v1::CONTACT_ROLE_DECISION_MAKER,
     kam::v1::CONTACT_LEVEL_EXECUTIVE},
    {"副总经理", "总经理办公室", kam::v1::CONTACT_ROLE_INFLUENCER,
     kam::v1::CONTACT_LEVEL_EXECUTIVE},
    {"生产厂长", "生产部", kam::v1::CONTACT_ROLE_DECISION_MAKER, kam::v1::CONTACT_LEVEL_MANAGEMENT},
    {"设备部经理", "设备部", kam::v1::CONTACT_ROLE_TECHNICAL, kam::v1::CONTACT_LEVEL_MANAGEMENT},
    {"计量工程师", "质检部", kam::v1::CONTACT_ROLE_TECHNICAL, kam::v1::CONTACT_LEVEL_OPERATIONAL},
    {"仓储主管", "仓储部", kam::v1::CONTACT_ROLE_USER, kam::v1::CONTACT_LEVEL_MANAGEMENT},
    {"司磅员", "仓储部", kam::v1::CONTACT_ROLE_USER, kam::v1::CONTACT_LEVEL_OPERATIONAL},
    {"财务总监", "财务部", kam::v1::CONTACT_ROLE_INFLUENCER, kam::v1::CONTACT_LEVEL_EXECUTIVE},
    {"总经理秘书", "总经理办公室", kam::v1::CONTACT_ROLE_GATEKEEPER,
     kam::v1::CONTACT_LEVEL_OPERATIONAL},
    {"技术副总", "技术部", kam::v1::CONTACT_ROLE_DECISION_MAKER, kam::v1::CONTACT_LEVEL_EXECUTIVE},
};
constexpr int kPurchasingManagerTitle = 0;
constexpr int kBuyerTitle = 1;

struct Product {
  const char* id;
  const char* name;
  const char* category;
  const char* unit;
  int64_t unit_price;  // Minor units.
};
// What we sold before the log began: no ProductLaunched for these.
constexpr Product kBaseProducts[] = {
    {"SCS-100T", "SCS-100t电子汽车衡", "汽车衡", "台", 18800000},
    {"SCS-60T", "SCS-60t电子汽车衡", "汽车衡", "台", 12600000},
    {"OCS-10T", "OCS-10t无线打印吊钩秤", "吊钩秤", "台", 1580000},
    {"OCS-HT5", "耐高温吊钩秤5t", "吊钩秤", "台", 2350000},
    {"EX-TCS300", "防爆电子台秤300kg", "台秤", "台", 680000},
    {"LC-C16A", "C16A称重传感器", "称重模块", "只", 128000},
    {"XK3190-D", "XK3190地磅显示器", "仪表", "台", 96000},
    {"JCS-30", "计数桌面秤30kg", "桌面秤", "台", 42000},
    {"SVC-CAL", "年度计量检定与维保服务", "服务", "次", 1500000},
};
// New products, launched on the catalog stream in this order (cycled with a
// generation suffix when more launches are asked for).
constexpr Product kLaunchProducts[] = {
    {"", "智能无人值守汽车衡系统", "汽车衡", "套", 32000000},
    {"", "动态轨道衡", "轨道衡", "台", 56000000},
    {"", "本安型防爆称重模块", "称重模块", "只", 210000},
    {"", "物联网称重云平台", "软件", "套", 4800000},
    {"", "车载称重系统", "车载秤", "套", 3600000},
    {"", "料斗秤配料系统", "配料系统", "套", 8800000},
    {"", "无线称重传感器", "称重模块", "只", 260000},
    {"", "耐高温钢水吊秤", "吊钩秤", "台", 4200000},
};

constexpr const char* kVisitPurposes[] = {"季度拜访",          "新项目技术交流", "地磅年度检定",
                                          "商务洽谈",          "售后回访",       "方案演示",
                                          "年度供应商评审沟通"};
constexpr const char* kVisitNotes[] = {
    "客户对称重数据联网很感兴趣，要求提供方案", "现场查看汽车衡基础，计划明年扩建",
    "采购部反映竞品报价偏低，需要申请价格支持", "与设备部讨论传感器更换周期",
    "客户高层认可我们的服务响应速度",           "了解到客户新厂区明年投产"};
constexpr const char* kCommunicationNotes[] = {"确认发货时间",     "发送报价单及技术参数",
                                               "电话回访使用情况", "微信沟通检定安排",
                                               "客户询问备件价格", "高层互通，约定年度战略会谈"};
constexpr const char* kComplaintTexts[] = {"称重数据漂移，超出允差", "售后工程师到场不及时",
                                           "到货延迟一周，影响生产", "价格高于竞品同类产品",
                                           "发票开具有误"};
constexpr const char* kResolutions[] = {"更换传感器并重新标定", "派驻工程师驻场服务一周",
                                        "补发配件并承担运费", "给予下批订单折扣", "重新开具发票"};
constexpr const char* kCancelReasons[] = {"客户项目延期", "客户改选竞品", "规格变更，重新下单",
                                          "资金未到位"};
constexpr const char* kLossNotes[] = {"客户转向竞品低价方案", "客户停产转型",
                                      "投诉处理不及时，客户不满", "客户自建称重产线",
                                      "竞品提供一体化方案"};
constexpr const char* kReactivationNotes[] = {"新项目重新招标，我方中标", "竞品质量问题，客户回归",
                                              "高层拜访后恢复合作"};
constexpr const char* kCompetitorNotes[] = {
    "竞品报价下调约15%",  "竞品传感器批量故障",     "竞品售后响应慢，客户抱怨", "竞品销售经理离职",
    "竞品与客户关系一般", "竞品与客户高层关系恶化", "竞品推出无人值守新产品"};
constexpr const char* kSignalNotes[] = {"客户推行降本增效，要求供应商降价5%",
                                        "客户新建原料堆场，需要新增汽车衡",
                                        "客户启动年度供应商评审", "客户发布称重设备招标公告"};
constexpr const char* kAgreementNotes[] = {"年度框架采购协议", "战略合作伙伴协议，优先供货",
                                           "合资成立称重服务公司", "联合开发智能称重系统"};
constexpr const char* kAgreementEndReasons[] = {"协议到期", "到期后续签新协议", "客户调整采购策略"};
constexpr const char* kProspectNotes[] = {"客户有新建厂区计划", "现有供应商服务差，有意更换",
                                          "预算有限，观望中", "已进入客户供应商短名单"};
constexpr const char* kShareNotes[] = {"根据客户年度供应商评价", "根据采购数据估算",
                                       "客户采购部口头告知"};
constexpr const char* kStandardNotes[] = {"客户要求取得CMC及防爆认证", "客户要求48小时到场服务",
                                          "客户要求称重数据对接ERP"};
constexpr const char* kContactLeftNotes[] = {"离职", "调往集团总部", "退休", "内部调岗"};
constexpr const char* kCorrectionReasons[] = {"录入笔误，按原始单据更正", "发生日期录错",
                                              "金额录入错误，按合同更正", "信息核对后更正"};
constexpr const char* kRetractionReasons[] = {"重复录入", "误录到该客户名下",
                                              "计划取消，误记为已发生"};

// ---------------------------------------------------------------------------
// Randomness: one engine, with distributions written out so that the same
// seed gives the same events with any standard library.

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(engine_()) * n) >> 64);
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Mean 1.
  double Exponential() { return -std::log1p(-Unit()); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  std::mt19937_64 engine_;
};

void AppendPadded(std::string* out, uint64_t value, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(digits[--n]);
}

int64_t MidnightOf(int64_t t) { return t - t % kDay; }

void SetTime(google::protobuf::Timestamp* ts, int64_t seconds) {
  ts->set_seconds(seconds);
  ts->set_nanos(0);
}

// ---------------------------------------------------------------------------
// Per-account plan and state.

enum class Archetype : uint8_t { kProspect, kCustomer, kLost };

struct Contact {
  uint8_t title = 0;
  bool active = false;
};

struct ActiveAgreement {
  uint32_t number = 0;
  bool structural = false;  // STRATEGIC_PARTNERSHIP or EQUITY_COOPERATION.
};

// A recent event that a later correction or retraction may name.
struct RecentEvent {
  uint64_t number = 0;  // Emission number: its event id.
  int kind = 0;         // AccountEvent::KindCase.
  uint32_t order = 0;   // For OrderPlaced: the order number.
  std::string bytes;    // Its content as last corrected.
};

struct Account {
  uint32_t index = 0;
  std::string stream;
  int64_t remaining = 0;  // Events still to emit.
  bool opened = false;
  int64_t clock = 0;  // Recording time of the next event.
  int64_t opened_at = 0;
  int64_t end = 0;
  // Late events and moved corrections stay after the last lifecycle change.
  int64_t floor_at = 0;

  double weight = 1;
  double scale = 1;  // Order quantities grow with it.
  Archetype archetype = Archetype::kCustomer;
  bool opened_as_prospect = false;
  int64_t convert_at = 0;
  int64_t lose_at = 0;        // 0: never.
  int64_t reactivate_at = 0;  // 0: never.
  bool lost = false;
  bool loss_recorded = false;
  int64_t strategic_at = 0;  // 0: never.
  bool strategic_signed = false;
  bool pending_strategic_share = false;
  bool single_threaded = false;
  int target_contacts = 3;
  int share_target = 30;
  int last_share = -1;
  int64_t last_evaluation_at = 0;
  uint8_t region = 0;
  uint8_t industry = 0;
  uint8_t manager = 0;
  uint8_t competitor = 0;
  std::string name;

  std::vector<Contact> contacts;
  int active_contacts = 0;
  std::vector<uint32_t> open_orders;
  uint32_t orders_placed = 0;
  std::vector<uint32_t> open_complaints;
  uint32_t complaints_filed = 0;
  std::vector<ActiveAgreement> agreements;
  uint32_t agreements_signed = 0;
  bool has_ordered = false;

  std::array<RecentEvent, kRecentEvents> recent;
  int recent_count = 0;
  int recent_next = 0;
};

struct Launch {
  int64_t at = 0;
  int product = 0;  // Index into kLaunchProducts.
  int generation = 1;
  std::string id;
};

bool IsCorrectable(int kind) {
  switch (kind) {
    case AccountEvent::kVisitRecorded:
    case AccountEvent::kCommunicationLogged:
    case AccountEvent::kOrderPlaced:
    case AccountEvent::kComplaintFiled:
    case AccountEvent::kContactAdded:
    case AccountEvent::kPurchaseShareAssessed:
    case AccountEvent::kPurchasingStandardAssessed:
    case AccountEvent::kProspectAssessed:
    case AccountEvent::kCompetitorActivityObserved:
    case AccountEvent::kCustomerSignalObserved:
    case AccountEvent::kAccountProfileUpdated:
    case AccountEvent::kAgreementSigned:
      return true;
    default:
      return false;
  }
}

// Retracting these leaves every later command valid (an order only while
// nothing refers to it yet).
bool IsRetractable(int kind) {
  switch (kind) {
    case AccountEvent::kVisitRecorded:
    case AccountEvent::kCommunicationLogged:
    case AccountEvent::kOrderPlaced:
    case AccountEvent::kPurchaseShareAssessed:
    case AccountEvent::kPurchasingStandardAssessed:
    case AccountEvent::kProspectAssessed:
    case AccountEvent::kCompetitorActivityObserved:
    case AccountEvent::kCustomerSignalObserved:
    case AccountEvent::kAccountProfileUpdated:
      return true;
    default:
      return false;
  }
}

template <typename T>
bool Contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

template <typename T>
void EraseAt(std::vector<T>* items, size_t i) {
  items->erase(items->begin() + static_cast<std::ptrdiff_t>(i));
}

// ---------------------------------------------------------------------------

using IndexedSink = std::function<absl::Status(const GeneratedEvent&, size_t stream_index)>;

class PortfolioGenerator {
 public:
  explicit PortfolioGenerator(const GeneratorOptions& options);

  // Emits every event; stops at the first error of `sink`.
  absl::Status Run(const IndexedSink& sink);

 private:
  void PlanAccounts(int64_t catalog_events);
  void PlanAccount(Account* a);
  void PlanCatalog(int64_t catalog_events);

  // Builds the next event of `a` into a scratch message and returns it.
  AccountEvent& NextAccountEvent(Account* a);
  int ChooseKind(const Account& a);
  void Advance(Account* a);
  absl::Status Emit(size_t stream_index, const std::string& stream, const AccountEvent& e,
                    Account* a, uint32_t order, const IndexedSink& sink);

  AccountEvent& Begin(int kind, int64_t occurred_at, const Account& a);
  // Mostly the account's clock; sometimes earlier: a late-recorded event.
  int64_t MaybeLate(const Account& a);
  int RandomActiveContact(const Account& a);
  void AddContactIds(const Account& a, int max,
                     google::protobuf::RepeatedPtrField<std::string>* ids);
  void SetMoney(kam::v1::Money* money, int64_t minor_units);
  const std::string& ContactId(uint32_t number);
  const std::string& EventId(uint64_t number);

  AccountEvent& AccountOpened(Account* a);
  AccountEvent& ProfileUpdated(Account* a);
  AccountEvent& ManagerAssigned(Account* a);
  AccountEvent& AccountLost(Account* a);
  AccountEvent& AccountReactivated(Account* a);
  AccountEvent& ContactAdded(Account* a);
  AccountEvent& ContactChanged(Account* a);
  AccountEvent& ContactLeft(Account* a);
  AccountEvent& VisitRecorded(Account* a);
  AccountEvent& CommunicationLogged(Account* a);
  AccountEvent& ComplaintFiled(Account* a);
  AccountEvent& ComplaintResolved(Account* a);
  AccountEvent& OrderPlaced(Account* a);
  const kam::v1::ProductLine& AddOrderLine(const Account& a, int64_t occurred_at,
                                           kam::v1::OrderPlaced* order);
  AccountEvent& OrderDelivered(Account* a);
  AccountEvent& OrderCancelled(Account* a);
  AccountEvent& PurchaseShareAssessed(Account* a);
  AccountEvent& PurchasingStandardAssessed(Account* a);
  AccountEvent& AgreementSigned(Account* a, bool structural);
  AccountEvent& AgreementEnded(Account* a);
  AccountEvent& ProspectAssessed(Account* a);
  AccountEvent& CompetitorActivityObserved(Account* a);
  AccountEvent& CustomerSignalObserved(Account* a);
  AccountEvent& EventCorrected(Account* a);
  AccountEvent& EventRetracted(Account* a);
  void AmendReplacement(const Account& a, AccountEvent* replacement);
  bool IsCatalogCorrection(int64_t index) const;
  const Launch& CatalogLaunch(int64_t index) const;
  int64_t CatalogTime(int64_t index) const;
  AccountEvent& CatalogEvent(int64_t index);

  const GeneratorOptions options_;
  const int64_t start_;
  const int64_t end_;
  Random random_;
  std::vector<Account> accounts_;
  std::vector<Launch> launches_;
  int64_t catalog_events_ = 0;
  int64_t catalog_emitted_ = 0;
  std::string catalog_first_id_;  // The first launch's event id.
  uint64_t emitted_ = 0;

  // Scratch space reused for every event: one message per oneof case keeps
  // its allocations, so steady-state generation barely allocates.
  std::vector<AccountEvent> scratch_;
  std::vector<std::string> type_names_;  // By oneof case.
  GeneratedEvent out_;
  std::string event_id_prefix_;
  std::string id_buffer_;
  std::string contact_id_buffer_;
  std::string text_buffer_;
  // The pending correction's target, to record its new content after emission.
  RecentEvent* corrected_target_ = nullptr;
};

PortfolioGenerator::PortfolioGenerator(const GeneratorOptions& options)
    : options_(options),
      start_(absl::ToUnixSeconds(options.start)),
      end_(absl::ToUnixSeconds(options.end)),
      random_(options.seed),
      scratch_(kMaxCase + 1),
      type_names_(kMaxCase + 1) {
  const google::protobuf::OneofDescriptor* kind =
      AccountEvent::descriptor()->FindOneofByName("kind");
  for (int i = 0; i < kind->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = kind->field(i);
    if (field->number() <= kMaxCase) {
      type_names_[field->number()] = field->message_type()->full_name();
    }
  }
  event_id_prefix_ = absl::StrCat("gen-", options.seed, "-");
  // ProductLaunched now and then: about one per 3,000 events, at least one
  // when there is room beside the accounts' own events.
  const int64_t spare = options.events - options.accounts;
  int64_t catalog = 0;
  if (spare >= 2)
    catalog = std::clamp<int64_t>(options.events / 3000, 1, std::min<int64_t>(240, spare / 2));
  PlanCatalog(catalog);
  PlanAccounts(catalog);
}

void PortfolioGenerator::PlanCatalog(int64_t catalog_events) {
  catalog_events_ = catalog_events;
  // One correction (a product name fixed) once there are a few launches.
  const int64_t launches = catalog_events >= 4 ? catalog_events - 1 : catalog_events;
  const int64_t span = end_ - start_;
  constexpr int kProducts = static_cast<int>(std::size(kLaunchProducts));
  for (int64_t k = 0; k < launches; ++k) {
    Launch launch;
    launch.at = start_ + span * (2 * k + 1) / (2 * launches);
    launch.product = static_cast<int>(k % kProducts);
    launch.generation = static_cast<int>(k / kProducts) + 1;
    launch.id = "NP-";
    AppendPadded(&launch.id, static_cast<uint64_t>(k + 1), 3);
    launches_.push_back(std::move(launch));
  }
}

void PortfolioGenerator::PlanAccounts(int64_t catalog_events) {
  const int count = options_.accounts;
  accounts_.resize(static_cast<size_t>(count));
  int width = 5;
  for (int n = count; n >= 100000; n /= 10) ++width;
  double total_weight = 0;
  for (int i = 0; i < count; ++i) {
    Account& a = accounts_[static_cast<size_t>(i)];
    a.index = static_cast<uint32_t>(i);
    a.stream = kAccountStreamPrefix;
    a.stream += "ka";
    AppendPadded(&a.stream, static_cast<uint64_t>(i + 1), width);
    PlanAccount(&a);
    total_weight += a.archetype == Archetype::kProspect ? a.weight * 0.3 : a.weight;
  }
  // Every account gets its AccountOpened; the rest is shared in proportion
  // to activity, rounding on the running sum so the total is exact.
  const int64_t extra = options_.events - catalog_events - count;
  double cumulative = 0;
  int64_t given = 0;
  for (Account& a : accounts_) {
    cumulative += a.archetype == Archetype::kProspect ? a.weight * 0.3 : a.weight;
    int64_t upto =
        static_cast<int64_t>(std::floor(static_cast<double>(extra) * cumulative / total_weight));
    upto = std::min(upto, extra);
    if (&a == &accounts_.back()) upto = extra;
    a.remaining = 1 + (upto - given);
    given = upto;
  }
}

void PortfolioGenerator::PlanAccount(Account* a) {
  Random& r = random_;
  // Pareto (alpha 1.16: 80/20), capped so one account cannot swamp the log.
  a->weight = std::min(150.0, std::pow(1.0 - r.Unit(), -1.0 / 1.16));
  a->scale = std::sqrt(a->weight);
  const double kind = r.Unit();
  a->archetype = kind < 0.12
                     ? Archetype::kProspect
                     : (kind < 0.24 && a->weight < 20 ? Archetype::kLost : Archetype::kCustomer);
  const int64_t span = end_ - start_;
  if (a->weight > 5 || r.Chance(0.35)) {
    a->opened_at = start_ + r.Between(0, std::min<int64_t>(60 * kDay, span / 4));
  } else {
    a->opened_at = start_ + r.Between(0, span * 4 / 5);
  }
  a->clock = a->opened_at;
  a->floor_at = a->opened_at;
  a->end = end_;
  const int64_t life = end_ - a->opened_at;
  a->opened_as_prospect = a->archetype == Archetype::kProspect || r.Chance(0.3);
  if (a->opened_as_prospect) {
    a->convert_at = a->opened_at + static_cast<int64_t>(life * (0.05 + 0.25 * r.Unit()));
  }
  if (a->archetype == Archetype::kLost) {
    a->lose_at = a->opened_at + static_cast<int64_t>(life * (0.55 + 0.35 * r.Unit()));
    if (r.Chance(0.4)) {
      a->reactivate_at =
          a->lose_at + static_cast<int64_t>((end_ - a->lose_at) * (0.2 + 0.5 * r.Unit()));
    }
  }
  if (a->archetype == Archetype::kCustomer &&
      (a->weight >= 8 ? r.Chance(0.5) : (a->weight >= 3 && r.Chance(0.1)))) {
    a->strategic_at =
        std::max(a->convert_at, a->opened_at) + static_cast<int64_t>(life * (0.1 + 0.4 * r.Unit()));
  }
  a->single_threaded = a->strategic_at == 0 && r.Chance(0.15);
  a->target_contacts = 2 + static_cast<int>(std::min(8.0, a->scale * 1.5));
  a->share_target = static_cast<int>(
      std::min<int64_t>(78, 12 + r.Between(0, 40) + static_cast<int64_t>(a->weight * 2)));
  a->region = static_cast<uint8_t>(r.Below(std::size(kRegions)));
  a->industry = static_cast<uint8_t>(r.Below(std::size(kIndustries)));
  a->manager = static_cast<uint8_t>(r.Below(std::size(kManagers)));
  a->competitor = static_cast<uint8_t>(r.Below(std::size(kCompetitors)));
  a->name = absl::StrCat(kRegions[a->region].short_name, r.Pick(kNameWords),
                         kIndustries[a->industry].name_part, r.Pick(kNameSuffixes));
}

absl::Status PortfolioGenerator::Run(const IndexedSink& sink) {
  // Min-heap of (recording time of the stream's next event, stream index):
  // the portfolio is emitted roughly in recording order, ties by stream.
  using Entry = std::pair<int64_t, size_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> next;
  for (const Account& a : accounts_) next.emplace(a.clock, a.index);
  const size_t catalog_index = accounts_.size();
  if (catalog_events_ > 0) next.emplace(CatalogTime(0), catalog_index);
  while (!next.empty()) {
    const size_t i = next.top().second;
    next.pop();
    if (i == catalog_index) {
      const AccountEvent& e = CatalogEvent(catalog_emitted_);
      if (catalog_emitted_ == 0) catalog_first_id_ = EventId(emitted_ + 1);
      KAM_RETURN_IF_ERROR(Emit(i, kCatalogStream, e, nullptr, 0, sink));
      ++catalog_emitted_;
      if (catalog_emitted_ < catalog_events_) next.emplace(CatalogTime(catalog_emitted_), i);
      continue;
    }
    Account& a = accounts_[i];
    const AccountEvent& e = NextAccountEvent(&a);
    const uint32_t order = e.has_order_placed() ? a.orders_placed : 0;
    KAM_RETURN_IF_ERROR(Emit(i, a.stream, e, &a, order, sink));
    Advance(&a);
    if (a.remaining > 0) next.emplace(a.clock, i);
  }
  return absl::OkStatus();
}

// The recording clock moves on so that the remaining events spread over the
// rest of the span: exponential gaps whose mean is the time left per event.
void PortfolioGenerator::Advance(Account* a) {
  --a->remaining;
  if (a->remaining <= 0) return;
  const int64_t left = a->end - a->clock;
  if (left < 2) {
    a->clock = a->end;
    return;
  }
  const double mean = static_cast<double>(left) / static_cast<double>(a->remaining + 1);
  const int64_t gap = static_cast<int64_t>(mean * random_.Exponential());
  a->clock += std::clamp<int64_t>(gap, 1, left / 2);
}

absl::Status PortfolioGenerator::Emit(size_t stream_index, const std::string& stream,
                                      const AccountEvent& e, Account* a, uint32_t order,
                                      const IndexedSink& sink) {
  ++emitted_;
  out_.stream = stream;
  out_.data.event_id = EventId(emitted_);
  out_.data.type = type_names_[e.kind_case()];
  out_.data.occurred_at = absl::FromUnixSeconds(e.occurred_at().seconds());
  if (!e.SerializeToString(&out_.data.data)) {
    return absl::InternalError(absl::StrCat("cannot serialize generated ", out_.data.type));
  }
  if (a != nullptr && IsCorrectable(e.kind_case())) {
    RecentEvent& slot = a->recent[static_cast<size_t>(a->recent_next)];
    a->recent_next = (a->recent_next + 1) % kRecentEvents;
    a->recent_count = std::min(a->recent_count + 1, kRecentEvents);
    slot.number = emitted_;
    slot.kind = e.kind_case();
    slot.order = order;
    slot.bytes = out_.data.data;
  }
  if (corrected_target_ != nullptr) {
    if (!e.event_corrected().replacement().SerializeToString(&corrected_target_->bytes)) {
      return absl::InternalError("cannot serialize a generated replacement");
    }
    corrected_target_ = nullptr;
  }
  return sink(out_, stream_index);
}

const std::string& PortfolioGenerator::EventId(uint64_t number) {
  id_buffer_ = event_id_prefix_;
  absl::StrAppend(&id_buffer_, number);
  return id_buffer_;
}

const std::string& PortfolioGenerator::ContactId(uint32_t number) {
  contact_id_buffer_ = "CT-";
  AppendPadded(&contact_id_buffer_, number, 3);
  return contact_id_buffer_;
}

AccountEvent& PortfolioGenerator::Begin(int kind, int64_t occurred_at, const Account& a) {
  AccountEvent& e = scratch_[static_cast<size_t>(kind)];
  SetTime(e.mutable_occurred_at(), occurred_at);
  e.set_actor(kManagers[a.manager]);
  return e;
}

int64_t PortfolioGenerator::MaybeLate(const Account& a) {
  if (!random_.Chance(0.03)) return a.clock;
  const int64_t delay = random_.Between(2 * kHour, 12 * kDay);
  return std::min(a.clock, std::max(a.floor_at + 1, a.clock - delay));
}

void PortfolioGenerator::SetMoney(kam::v1::Money* money, int64_t minor_units) {
  money->set_minor_units(minor_units);
  money->set_currency_code(options_.currency);
}

int PortfolioGenerator::RandomActiveContact(const Account& a) {
  if (a.active_contacts == 0) return -1;
  int skip = static_cast<int>(random_.Below(static_cast<uint64_t>(a.active_contacts)));
  for (size_t i = 0; i < a.contacts.size(); ++i) {
    if (!a.contacts[i].active) continue;
    if (skip-- == 0) return static_cast<int>(i);
  }
  return -1;
}

void PortfolioGenerator::AddContactIds(const Account& a, int max,
                                       google::protobuf::RepeatedPtrField<std::string>* ids) {
  const int count = std::min<int>(a.active_contacts, 1 + static_cast<int>(random_.Below(max)));
  for (int k = 0; k < count; ++k) {
    const int c = RandomActiveContact(a);
    const std::string& id = ContactId(static_cast<uint32_t>(c + 1));
    if (std::find(ids->begin(), ids->end(), id) == ids->end()) ids->Add()->assign(id);
  }
}

// ---------------------------------------------------------------------------
// Choosing what happens next.

AccountEvent& PortfolioGenerator::NextAccountEvent(Account* a) {
  if (!a->opened) return AccountOpened(a);
  if (a->lose_at != 0 && !a->loss_recorded && a->clock >= a->lose_at) {
    return AccountLost(a);
  }
  if (a->lost && a->reactivate_at > 0 && a->clock >= a->reactivate_at) {
    return AccountReactivated(a);
  }
  if (!a->lost && a->strategic_at != 0 && !a->strategic_signed && a->has_ordered &&
      a->clock >= a->strategic_at) {
    return AgreementSigned(a, /*structural=*/true);
  }
  if (a->pending_strategic_share) return PurchaseShareAssessed(a);
  // A converting prospect's first order comes when it converts.
  if (!a->lost && !a->has_ordered && a->archetype != Archetype::kProspect &&
      a->clock >= a->convert_at && a->active_contacts > 0) {
    return OrderPlaced(a);
  }
  switch (ChooseKind(*a)) {
    case AccountEvent::kAccountProfileUpdated:
      return ProfileUpdated(a);
    case AccountEvent::kAccountManagerAssigned:
      return ManagerAssigned(a);
    case AccountEvent::kContactAdded:
      return ContactAdded(a);
    case AccountEvent::kContactChanged:
      return ContactChanged(a);
    case AccountEvent::kContactLeft:
      return ContactLeft(a);
    case AccountEvent::kVisitRecorded:
      return VisitRecorded(a);
    case AccountEvent::kComplaintFiled:
      return ComplaintFiled(a);
    case AccountEvent::kComplaintResolved:
      return ComplaintResolved(a);
    case AccountEvent::kOrderPlaced:
      return OrderPlaced(a);
    case AccountEvent::kOrderDelivered:
      return OrderDelivered(a);
    case AccountEvent::kOrderCancelled:
      return OrderCancelled(a);
    case AccountEvent::kPurchaseShareAssessed:
      return PurchaseShareAssessed(a);
    case AccountEvent::kPurchasingStandardAssessed:
      return PurchasingStandardAssessed(a);
    case AccountEvent::kAgreementSigned:
      return AgreementSigned(a, /*structural=*/false);
    case AccountEvent::kAgreementEnded:
      return AgreementEnded(a);
    case AccountEvent::kProspectAssessed:
      return ProspectAssessed(a);
    case AccountEvent::kCompetitorActivityObserved:
      return CompetitorActivityObserved(a);
    case AccountEvent::kCustomerSignalObserved:
      return CustomerSignalObserved(a);
    case AccountEvent::kEventCorrected:
      return EventCorrected(a);
    case AccountEvent::kEventRetracted:
      return EventRetracted(a);
    default:
      return CommunicationLogged(a);
  }
}

// Weights in per mille of a typical customer's events; commands that need
// something (an open order, an open complaint, an active contact) weigh 0
// without it, so every choice is valid.
int PortfolioGenerator::ChooseKind(const Account& a) {
  const bool lost = a.lost;
  const bool can_order = !lost && a.archetype != Archetype::kProspect && a.clock >= a.convert_at;
  const bool developing = !a.has_ordered;
  const int open_orders = static_cast<int>(a.open_orders.size());
  int contact_added = 0;
  if (a.active_contacts == 0) {
    contact_added = 500;
  } else if (!a.single_threaded) {
    contact_added = a.active_contacts < a.target_contacts ? 35 : 4;
  }
  bool retractable = false;
  bool structural_only = true;
  for (int i = 0; i < a.recent_count; ++i) {
    const RecentEvent& r = a.recent[static_cast<size_t>(i)];
    if (!IsRetractable(r.kind)) continue;
    if (r.kind != AccountEvent::kOrderPlaced || Contains(a.open_orders, r.order))
      retractable = true;
  }
  for (const ActiveAgreement& g : a.agreements) structural_only &= g.structural;
  const std::pair<int, int> weights[] = {
      {AccountEvent::kVisitRecorded, lost ? 50 : 150},
      {AccountEvent::kCommunicationLogged, lost ? 60 : 200},
      {AccountEvent::kAccountProfileUpdated, 12},
      {AccountEvent::kAccountManagerAssigned, 4},
      {AccountEvent::kContactAdded, lost ? contact_added / 2 : contact_added},
      {AccountEvent::kContactChanged, a.active_contacts > 0 ? 14 : 0},
      {AccountEvent::kContactLeft, a.active_contacts > 0 ? (a.single_threaded ? 2 : 9) : 0},
      {AccountEvent::kCompetitorActivityObserved, 30},
      {AccountEvent::kCustomerSignalObserved, 18},
      {AccountEvent::kPurchasingStandardAssessed, 10},
      {AccountEvent::kProspectAssessed, developing && a.opened_as_prospect && !lost ? 30 : 0},
      {AccountEvent::kPurchaseShareAssessed, developing ? 4 : 28},
      {AccountEvent::kOrderPlaced, can_order && a.active_contacts > 0 ? 200 : 0},
      {AccountEvent::kOrderDelivered, open_orders == 0 ? 0 : (open_orders > 3 ? 400 : 170)},
      {AccountEvent::kOrderCancelled, open_orders > 0 ? 10 : 0},
      {AccountEvent::kComplaintFiled, a.has_ordered && !lost ? 22 : 0},
      {AccountEvent::kComplaintResolved, a.open_complaints.empty() ? 0 : 70},
      {AccountEvent::kAgreementSigned, a.has_ordered && !lost && a.agreements.size() < 2 ? 5 : 0},
      {AccountEvent::kAgreementEnded, structural_only ? 0 : 4},
      {AccountEvent::kEventCorrected, a.recent_count > 0 ? 10 : 0},
      {AccountEvent::kEventRetracted, retractable ? 4 : 0},
  };
  int total = 0;
  for (const auto& w : weights) total += w.second;
  int pick = static_cast<int>(random_.Below(static_cast<uint64_t>(total)));
  for (const auto& w : weights) {
    if (pick < w.second) return w.first;
    pick -= w.second;
  }
  return AccountEvent::kCommunicationLogged;
}

// ---------------------------------------------------------------------------
// Account lifecycle.

AccountEvent& PortfolioGenerator::AccountOpened(Account* a) {
  a->opened = true;
  AccountEvent& e = Begin(AccountEvent::kAccountOpened, a->opened_at, *a);
  kam::v1::AccountOpened* m = e.mutable_account_opened();
  m->set_name(a->name);
  m->set_industry(kIndustries[a->industry].name);
  const Region& region = kRegions[a->region];
  m->mutable_region()->set_province(region.province);
  m->mutable_region()->set_city(region.city);
  m->mutable_region()->set_district(region.district);
  m->set_kind(a->opened_as_prospect ? kam::v1::ACCOUNT_KIND_PROSPECT
                                    : kam::v1::ACCOUNT_KIND_CUSTOMER);
  m->set_account_manager(kManagers[a->manager]);
  return e;
}

AccountEvent& PortfolioGenerator::ProfileUpdated(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kAccountProfileUpdated, MaybeLate(*a), *a);
  kam::v1::AccountDossier* d = e.mutable_account_profile_updated()->mutable_dossier();
  d->Clear();
  const int64_t size = static_cast<int64_t>(a->weight * 2e9 * (0.5 + r.Unit()));  // Minor units.
  SetMoney(d->mutable_market_size(), size);
  d->add_brands_carried(kOurBrand);
  d->add_brands_carried(kCompetitors[a->competitor]);
  if (r.Chance(0.5)) d->add_brands_carried(r.Pick(kCompetitors));
  kam::v1::Volume* v = d->add_volumes();
  const Industry& industry = kIndustries[a->industry];
  v->set_category(industry.volume_category);
  v->set_annual_quantity(static_cast<uint64_t>(a->weight * 50000 * (0.5 + r.Unit())));
  v->set_unit(industry.unit);
  SetMoney(v->mutable_annual_amount(), size / 2);
  d->set_staff_count(static_cast<uint32_t>(80 + a->weight * 120 + r.Between(0, 200)));
  d->set_vehicle_count(static_cast<uint32_t>(5 + a->weight * 4 + r.Between(0, 20)));
  d->set_warehouse_count(static_cast<uint32_t>(1 + a->weight / 10 + r.Between(0, 3)));
  d->set_warehouse_area_m2(static_cast<uint64_t>(2000 + a->weight * 1500 + r.Between(0, 5000)));
  SetMoney(d->mutable_funds(), size / 10);
  const Region& region = kRegions[a->region];
  d->set_address(
      absl::StrCat(region.city, region.district, r.Pick(kStreets), r.Between(1, 999), "号"));
  d->add_phones(absl::StrCat(region.area_code, "-", r.Between(50000000, 89999999)));
  return e;
}

AccountEvent& PortfolioGenerator::ManagerAssigned(Account* a) {
  const uint8_t old = a->manager;
  a->manager = static_cast<uint8_t>((old + 1 + random_.Below(std::size(kManagers) - 1)) %
                                    std::size(kManagers));
  AccountEvent& e = Begin(AccountEvent::kAccountManagerAssigned, a->clock, *a);
  e.set_actor("销售部");
  e.mutable_account_manager_assigned()->set_account_manager(kManagers[a->manager]);
  return e;
}

AccountEvent& PortfolioGenerator::AccountLost(Account* a) {
  a->lost = true;
  a->loss_recorded = true;
  a->floor_at = a->clock;
  AccountEvent& e = Begin(AccountEvent::kAccountLost, a->clock, *a);
  kam::v1::AccountLost* m = e.mutable_account_lost();
  kam::v1::LossReason reason;
  if (!a->open_complaints.empty() && random_.Chance(0.7)) {
    reason = kam::v1::LOSS_REASON_COMPLAINT_NOT_HANDLED;
  } else {
    constexpr kam::v1::LossReason kReasons[] = {kam::v1::LOSS_REASON_COMPETITOR_PRICE,
                                                kam::v1::LOSS_REASON_COMPETITOR_PRICE,
                                                kam::v1::LOSS_REASON_COMPETITOR_PRODUCT_OR_SERVICE,
                                                kam::v1::LOSS_REASON_NEEDS_NOT_MET,
                                                kam::v1::LOSS_REASON_CUSTOMER_BUSINESS_CHANGE,
                                                kam::v1::LOSS_REASON_CUSTOMER_BECAME_COMPETITOR,
                                                kam::v1::LOSS_REASON_COMPLAINT_NOT_HANDLED};
    reason = random_.Pick(kReasons);
  }
  m->set_reason(reason);
  m->set_notes(random_.Pick(kLossNotes));
  return e;
}

AccountEvent& PortfolioGenerator::AccountReactivated(Account* a) {
  a->lost = false;
  a->floor_at = a->clock;
  AccountEvent& e = Begin(AccountEvent::kAccountReactivated, a->clock, *a);
  e.mutable_account_reactivated()->set_notes(random_.Pick(kReactivationNotes));
  return e;
}

// ---------------------------------------------------------------------------
// People at the account.

AccountEvent& PortfolioGenerator::ContactAdded(Account* a) {
  Random& r = random_;
  uint32_t number = 0;
  // Now and then someone who left comes back under the same id.
  for (size_t i = 0; i < a->contacts.size() && number == 0; ++i) {
    if (!a->contacts[i].active && r.Chance(0.05)) number = static_cast<uint32_t>(i + 1);
  }
  if (number == 0) {
    a->contacts.emplace_back();
    number = static_cast<uint32_t>(a->contacts.size());
    Contact& c = a->contacts.back();
    if (number == 1) {
      c.title = static_cast<uint8_t>(r.Chance(0.6) ? kPurchasingManagerTitle : kBuyerTitle);
    } else {
      c.title = static_cast<uint8_t>(r.Below(std::size(kTitles)));
    }
  }
  Contact& c = a->contacts[number - 1];
  c.active = true;
  ++a->active_contacts;
  const Title& title = kTitles[c.title];
  AccountEvent& e = Begin(AccountEvent::kContactAdded, a->clock, *a);
  kam::v1::ContactAdded* m = e.mutable_contact_added();
  m->Clear();
  m->set_contact_id(ContactId(number));
  m->set_name(absl::StrCat(r.Pick(kSurnames), r.Pick(kGivenNames)));
  m->set_title(title.title);
  m->set_department(title.department);
  m->set_role(title.role);
  m->set_level(title.level);
  if (r.Chance(0.3)) {
    kam::v1::ContactPersonalData* p = m->mutable_personal();
    constexpr int64_t k1960 = -315619200;  // 1960-01-01T00:00:00Z: a midnight.
    SetTime(p->mutable_birthday(), k1960 + r.Between(0, 35 * 365) * kDay);
    p->add_hobbies(r.Pick(kHobbies));
    p->set_family_notes(r.Pick(kFamilyNotes));
  }
  return e;
}

AccountEvent& PortfolioGenerator::ContactChanged(Account* a) {
  const int c = RandomActiveContact(*a);
  Contact& contact = a->contacts[static_cast<size_t>(c)];
  contact.title = static_cast<uint8_t>(random_.Below(std::size(kTitles)));
  const Title& title = kTitles[contact.title];
  AccountEvent& e = Begin(AccountEvent::kContactChanged, a->clock, *a);
  kam::v1::ContactChanged* m = e.mutable_contact_changed();
  m->Clear();
  m->set_contact_id(ContactId(static_cast<uint32_t>(c + 1)));
  m->set_title(title.title);
  m->set_department(title.department);
  m->set_role(title.role);
  m->set_level(title.level);
  return e;
}

AccountEvent& PortfolioGenerator::ContactLeft(Account* a) {
  const int c = RandomActiveContact(*a);
  a->contacts[static_cast<size_t>(c)].active = false;
  --a->active_contacts;
  AccountEvent& e = Begin(AccountEvent::kContactLeft, a->clock, *a);
  kam::v1::ContactLeft* m = e.mutable_contact_left();
  m->set_contact_id(ContactId(static_cast<uint32_t>(c + 1)));
  m->set_notes(random_.Pick(kContactLeftNotes));
  return e;
}

// ---------------------------------------------------------------------------
// Interactions.

AccountEvent& PortfolioGenerator::VisitRecorded(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kVisitRecorded, MaybeLate(*a), *a);
  kam::v1::VisitRecorded* m = e.mutable_visit_recorded();
  m->Clear();
  kam::v1::Visitor* v = m->add_visitors();
  v->set_name(kManagers[a->manager]);
  v->set_seniority(kam::v1::VISITOR_SENIORITY_SALES);
  if (r.Chance(std::min(0.5, 0.08 + a->weight / 100))) {
    v = m->add_visitors();
    v->set_name(r.Pick(kOurExecutives));
    v->set_seniority(kam::v1::VISITOR_SENIORITY_EXECUTIVE);
  } else if (r.Chance(0.2)) {
    v = m->add_visitors();
    v->set_name(r.Pick(kOurSalesManagers));
    v->set_seniority(kam::v1::VISITOR_SENIORITY_MANAGER);
  }
  if (r.Chance(0.3)) {
    v = m->add_visitors();
    v->set_name(r.Pick(kOurEngineers));
    v->set_seniority(kam::v1::VISITOR_SENIORITY_ENGINEER);
  }
  AddContactIds(*a, 2, m->mutable_contact_ids());
  m->set_purpose(r.Pick(kVisitPurposes));
  m->set_notes(r.Pick(kVisitNotes));
  return e;
}

AccountEvent& PortfolioGenerator::CommunicationLogged(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kCommunicationLogged, MaybeLate(*a), *a);
  kam::v1::CommunicationLogged* m = e.mutable_communication_logged();
  m->Clear();
  constexpr kam::v1::CommunicationChannel kChannels[] = {
      kam::v1::COMMUNICATION_CHANNEL_PHONE,   kam::v1::COMMUNICATION_CHANNEL_PHONE,
      kam::v1::COMMUNICATION_CHANNEL_MESSAGE, kam::v1::COMMUNICATION_CHANNEL_MESSAGE,
      kam::v1::COMMUNICATION_CHANNEL_EMAIL,   kam::v1::COMMUNICATION_CHANNEL_MEETING};
  m->set_channel(r.Pick(kChannels));
  m->set_executive_level(r.Chance(0.03 + std::min(0.15, a->weight / 200)));
  AddContactIds(*a, 1, m->mutable_contact_ids());
  m->set_notes(r.Pick(kCommunicationNotes));
  return e;
}

AccountEvent& PortfolioGenerator::ComplaintFiled(Account* a) {
  Random& r = random_;
  const uint32_t number = ++a->complaints_filed;
  a->open_complaints.push_back(number);
  AccountEvent& e = Begin(AccountEvent::kComplaintFiled, a->clock, *a);
  kam::v1::ComplaintFiled* m = e.mutable_complaint_filed();
  const int category = static_cast<int>(r.Below(5));  // PRODUCT_QUALITY .. OTHER.
  text_buffer_ = "CP-";
  AppendPadded(&text_buffer_, number, 4);
  m->set_complaint_id(text_buffer_);
  m->set_category(static_cast<kam::v1::ComplaintCategory>(category + 1));
  constexpr uint32_t kSeverities[] = {1, 1, 2, 2, 2, 3, 3, 4};
  m->set_severity(r.Pick(kSeverities));
  m->set_description(kComplaintTexts[category]);
  return e;
}

AccountEvent& PortfolioGenerator::ComplaintResolved(Account* a) {
  Random& r = random_;
  // Mostly the oldest open complaint first.
  const size_t i = r.Chance(0.8) ? 0 : r.Below(a->open_complaints.size());
  const uint32_t number = a->open_complaints[i];
  EraseAt(&a->open_complaints, i);
  AccountEvent& e = Begin(AccountEvent::kComplaintResolved, a->clock, *a);
  kam::v1::ComplaintResolved* m = e.mutable_complaint_resolved();
  text_buffer_ = "CP-";
  AppendPadded(&text_buffer_, number, 4);
  m->set_complaint_id(text_buffer_);
  m->set_resolution(r.Pick(kResolutions));
  m->set_customer_satisfied(r.Chance(0.8));
  return e;
}

// ---------------------------------------------------------------------------
// Business.

AccountEvent& PortfolioGenerator::OrderPlaced(Account* a) {
  Random& r = random_;
  const bool first = !a->has_ordered;
  const uint32_t number = ++a->orders_placed;
  a->open_orders.push_back(number);
  a->has_ordered = true;
  const int64_t occurred = first ? a->clock : MaybeLate(*a);
  if (first) a->floor_at = a->clock;
  AccountEvent& e = Begin(AccountEvent::kOrderPlaced, occurred, *a);
  e.set_actor("ERP同步");
  kam::v1::OrderPlaced* m = e.mutable_order_placed();
  m->Clear();
  text_buffer_ = "SO-";
  AppendPadded(&text_buffer_, number, 5);
  m->set_order_id(text_buffer_);
  const int lines = 1 + static_cast<int>(r.Below(r.Chance(0.7) ? 1 : 3));
  int64_t total = 0;
  uint64_t quantity = 0;
  for (int k = 0; k < lines; ++k) {
    const kam::v1::ProductLine& line = AddOrderLine(*a, occurred, m);
    total += line.amount().minor_units();
    quantity += line.quantity();
  }
  SetMoney(m->mutable_amount(), total);
  m->set_quantity(quantity);
  SetTime(m->mutable_promised_delivery_at(), MidnightOf(occurred + r.Between(7, 45) * kDay));
  return e;
}

// One product line, priced from the list with a negotiated discount, sized
// by the account's scale. Only products on sale at `occurred_at`: the base
// range and what was launched by then.
const kam::v1::ProductLine& PortfolioGenerator::AddOrderLine(const Account& a, int64_t occurred_at,
                                                             kam::v1::OrderPlaced* order) {
  Random& r = random_;
  constexpr size_t kBase = std::size(kBaseProducts);
  size_t available = kBase;
  for (const Launch& l : launches_) available += l.at <= occurred_at ? 1 : 0;
  const size_t p = r.Below(available);
  const Product& product =
      p < kBase ? kBaseProducts[p] : kLaunchProducts[launches_[p - kBase].product];
  const double base = product.unit_price >= 5000000   ? 1
                      : product.unit_price >= 1000000 ? 2
                      : product.unit_price >= 200000  ? 6
                                                      : 20;
  const uint64_t q =
      std::max<uint64_t>(1, static_cast<uint64_t>(base * a.scale * (0.3 + r.Unit())));
  kam::v1::ProductLine* line = order->add_lines();
  line->set_product_id(p < kBase ? product.id : launches_[p - kBase].id);
  line->set_quantity(q);
  line->set_unit(product.unit);
  SetMoney(line->mutable_amount(),
           product.unit_price * static_cast<int64_t>(q) * r.Between(85, 100) / 100);
  return *line;
}

AccountEvent& PortfolioGenerator::OrderDelivered(Account* a) {
  Random& r = random_;
  const size_t i = r.Chance(0.85) ? 0 : r.Below(a->open_orders.size());
  const uint32_t number = a->open_orders[i];
  EraseAt(&a->open_orders, i);
  AccountEvent& e = Begin(AccountEvent::kOrderDelivered, a->clock, *a);
  e.set_actor("ERP同步");
  kam::v1::OrderDelivered* m = e.mutable_order_delivered();
  text_buffer_ = "SO-";
  AppendPadded(&text_buffer_, number, 5);
  m->set_order_id(text_buffer_);
  m->set_on_time(r.Chance(0.88));
  m->set_complete(r.Chance(0.94));
  return e;
}

AccountEvent& PortfolioGenerator::OrderCancelled(Account* a) {
  Random& r = random_;
  const size_t i = r.Below(a->open_orders.size());
  const uint32_t number = a->open_orders[i];
  EraseAt(&a->open_orders, i);
  AccountEvent& e = Begin(AccountEvent::kOrderCancelled, a->clock, *a);
  kam::v1::OrderCancelled* m = e.mutable_order_cancelled();
  text_buffer_ = "SO-";
  AppendPadded(&text_buffer_, number, 5);
  m->set_order_id(text_buffer_);
  m->set_reason(r.Pick(kCancelReasons));
  return e;
}

AccountEvent& PortfolioGenerator::PurchaseShareAssessed(Account* a) {
  Random& r = random_;
  int share;
  const bool structural = a->strategic_signed && !a->lost;
  if (!a->has_ordered) {
    share = static_cast<int>(r.Between(0, 15));
  } else if (structural) {
    share = static_cast<int>(r.Between(80, 95));
  } else if (a->last_share >= 10 && r.Chance(0.1)) {
    // A drop: defection risk.
    share = std::max(0, a->last_share - static_cast<int>(r.Between(10, 20)));
  } else {
    share = std::clamp(a->share_target + static_cast<int>(r.Between(-8, 8)), 1, 79);
  }
  a->last_share = share;
  a->pending_strategic_share = false;
  kam::v1::ShareSource source = kam::v1::SHARE_SOURCE_ESTIMATE;
  if (a->has_ordered && a->clock - a->last_evaluation_at >= 300 * kDay && r.Chance(0.5)) {
    source = kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION;
    a->last_evaluation_at = a->clock;
  }
  AccountEvent& e =
      Begin(AccountEvent::kPurchaseShareAssessed, structural ? a->clock : MaybeLate(*a), *a);
  kam::v1::PurchaseShareAssessed* m = e.mutable_purchase_share_assessed();
  m->set_share_percent(static_cast<uint32_t>(share));
  m->set_source(source);
  m->set_notes(
      kShareNotes[source == kam::v1::SHARE_SOURCE_SUPPLIER_EVALUATION ? 0 : 1 + r.Below(2)]);
  return e;
}

AccountEvent& PortfolioGenerator::PurchasingStandardAssessed(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kPurchasingStandardAssessed, a->clock, *a);
  kam::v1::PurchasingStandardAssessed* m = e.mutable_purchasing_standard_assessed();
  m->set_we_meet_standard(r.Chance(0.88));
  m->set_main_competitor_meets_standard(r.Chance(0.55));
  m->set_main_competitor(kCompetitors[a->competitor]);
  m->set_notes(r.Pick(kStandardNotes));
  return e;
}

AccountEvent& PortfolioGenerator::AgreementSigned(Account* a, bool structural) {
  Random& r = random_;
  const uint32_t number = ++a->agreements_signed;
  a->agreements.push_back({number, structural});
  kam::v1::AgreementKind kind = r.Chance(0.7) ? kam::v1::AGREEMENT_KIND_FRAME_CONTRACT
                                              : kam::v1::AGREEMENT_KIND_JOINT_DEVELOPMENT;
  if (structural) {
    a->strategic_signed = true;
    a->pending_strategic_share = true;
    a->floor_at = a->clock;
    kind = r.Chance(0.75) ? kam::v1::AGREEMENT_KIND_STRATEGIC_PARTNERSHIP
                          : kam::v1::AGREEMENT_KIND_EQUITY_COOPERATION;
  }
  AccountEvent& e = Begin(AccountEvent::kAgreementSigned, a->clock, *a);
  kam::v1::AgreementSigned* m = e.mutable_agreement_signed();
  text_buffer_ = "AG-";
  AppendPadded(&text_buffer_, number, 3);
  m->set_agreement_id(text_buffer_);
  m->set_kind(kind);
  m->set_notes(kAgreementNotes[static_cast<int>(kind) - 1]);
  return e;
}

AccountEvent& PortfolioGenerator::AgreementEnded(Account* a) {
  size_t i = 0;
  while (a->agreements[i].structural) ++i;  // ChooseKind saw a non-structural one.
  const uint32_t number = a->agreements[i].number;
  EraseAt(&a->agreements, i);
  AccountEvent& e = Begin(AccountEvent::kAgreementEnded, a->clock, *a);
  kam::v1::AgreementEnded* m = e.mutable_agreement_ended();
  text_buffer_ = "AG-";
  AppendPadded(&text_buffer_, number, 3);
  m->set_agreement_id(text_buffer_);
  m->set_reason(random_.Pick(kAgreementEndReasons));
  return e;
}

AccountEvent& PortfolioGenerator::ProspectAssessed(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kProspectAssessed, MaybeLate(*a), *a);
  kam::v1::ProspectAssessed* m = e.mutable_prospect_assessed();
  // Around the default 10,000,000 floor: both prospect contribution classes.
  const int64_t expected = static_cast<int64_t>(4e6 * a->weight * (0.4 + 1.6 * r.Unit()));
  SetMoney(m->mutable_expected_annual_revenue(), expected / 10000 * 10000);
  m->set_intent(static_cast<double>(r.Between(1, 19)) / 20.0);
  m->set_notes(r.Pick(kProspectNotes));
  return e;
}

AccountEvent& PortfolioGenerator::CompetitorActivityObserved(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kCompetitorActivityObserved, MaybeLate(*a), *a);
  kam::v1::CompetitorActivityObserved* m = e.mutable_competitor_activity_observed();
  m->set_competitor(r.Chance(0.7) ? kCompetitors[a->competitor] : r.Pick(kCompetitors));
  const int kind = static_cast<int>(r.Below(7));  // PRICE_CUT .. NEW_PRODUCT.
  m->set_kind(static_cast<kam::v1::CompetitorActivity>(kind + 1));
  m->set_notes(kCompetitorNotes[kind]);
  return e;
}

AccountEvent& PortfolioGenerator::CustomerSignalObserved(Account* a) {
  Random& r = random_;
  AccountEvent& e = Begin(AccountEvent::kCustomerSignalObserved, MaybeLate(*a), *a);
  kam::v1::CustomerSignalObserved* m = e.mutable_customer_signal_observed();
  const int kind = static_cast<int>(r.Below(4));  // COST_REDUCTION_PRESSURE .. TENDER.
  m->set_kind(static_cast<kam::v1::CustomerSignal>(kind + 1));
  m->set_notes(kSignalNotes[kind]);
  return e;
}

// ---------------------------------------------------------------------------
// Corrections.

AccountEvent& PortfolioGenerator::EventCorrected(Account* a) {
  RecentEvent& target = a->recent[random_.Below(static_cast<uint64_t>(a->recent_count))];
  AccountEvent& e = Begin(AccountEvent::kEventCorrected, a->clock, *a);
  kam::v1::EventCorrected* m = e.mutable_event_corrected();
  m->set_corrected_event_id(EventId(target.number));
  AccountEvent* replacement = m->mutable_replacement();
  // Our own serialization: parsing it back cannot fail.
  replacement->ParseFromString(target.bytes);
  AmendReplacement(*a, replacement);
  m->set_reason(random_.Pick(kCorrectionReasons));
  corrected_target_ = &target;
  return e;
}

// Changes what was mistaken, keeping the kind and the identity fields; may
// move occurred_at a little earlier (never before the AccountOpened).
void PortfolioGenerator::AmendReplacement(const Account& a, AccountEvent* replacement) {
  Random& r = random_;
  if (replacement->kind_case() != AccountEvent::kContactAdded && r.Chance(0.3)) {
    const int64_t was = replacement->occurred_at().seconds();
    const int64_t moved = std::max(a.opened_at + 1, was - r.Between(kHour, 3 * kDay));
    SetTime(replacement->mutable_occurred_at(), std::min(was, moved));
    return;
  }
  switch (replacement->kind_case()) {
    case AccountEvent::kOrderPlaced: {
      kam::v1::OrderPlaced* o = replacement->mutable_order_placed();
      const int64_t percent = r.Between(80, 110);
      int64_t total = 0;
      for (kam::v1::ProductLine& line : *o->mutable_lines()) {
        line.mutable_amount()->set_minor_units(line.amount().minor_units() * percent / 100);
        total += line.amount().minor_units();
      }
      o->mutable_amount()->set_minor_units(total);
      break;
    }
    case AccountEvent::kComplaintFiled:
      replacement->mutable_complaint_filed()->set_severity(static_cast<uint32_t>(r.Between(1, 4)));
      break;
    case AccountEvent::kContactAdded:
      replacement->mutable_contact_added()->set_name(
          absl::StrCat(r.Pick(kSurnames), r.Pick(kGivenNames)));
      break;
    case AccountEvent::kPurchaseShareAssessed: {
      kam::v1::PurchaseShareAssessed* s = replacement->mutable_purchase_share_assessed();
      const int was = static_cast<int>(s->share_percent());
      const int low = was >= 80 ? 80 : 0;
      s->set_share_percent(
          static_cast<uint32_t>(std::clamp(was + static_cast<int>(r.Between(-6, 6)), low, 100)));
      break;
    }
    case AccountEvent::kCommunicationLogged:
      replacement->mutable_communication_logged()->set_channel(
          kam::v1::COMMUNICATION_CHANNEL_MEETING);
      break;
    case AccountEvent::kProspectAssessed:
      replacement->mutable_prospect_assessed()->set_intent(static_cast<double>(r.Between(1, 19)) /
                                                           20.0);
      break;
    case AccountEvent::kCompetitorActivityObserved:
      replacement->mutable_competitor_activity_observed()->set_competitor(r.Pick(kCompetitors));
      break;
    case AccountEvent::kPurchasingStandardAssessed:
      replacement->mutable_purchasing_standard_assessed()->set_we_meet_standard(true);
      break;
    case AccountEvent::kAccountProfileUpdated:
      replacement->mutable_account_profile_updated()->mutable_dossier()->set_staff_count(
          static_cast<uint32_t>(80 + r.Between(0, 2000)));
      break;
    case AccountEvent::kVisitRecorded:
      replacement->mutable_visit_recorded()->set_notes(r.Pick(kVisitNotes));
      break;
    case AccountEvent::kCustomerSignalObserved:
      replacement->mutable_customer_signal_observed()->mutable_notes()->append("（已核实）");
      break;
    case AccountEvent::kAgreementSigned:
      replacement->mutable_agreement_signed()->mutable_notes()->append("，含年度返利条款");
      break;
    default:
      replacement->set_actor(kManagers[a.manager]);
      break;
  }
}

AccountEvent& PortfolioGenerator::EventRetracted(Account* a) {
  int candidates[kRecentEvents];
  int n = 0;
  for (int i = 0; i < a->recent_count; ++i) {
    const RecentEvent& r = a->recent[static_cast<size_t>(i)];
    if (!IsRetractable(r.kind)) continue;
    if (r.kind != AccountEvent::kOrderPlaced || Contains(a->open_orders, r.order))
      candidates[n++] = i;
  }
  const int pick = candidates[random_.Below(static_cast<uint64_t>(n))];
  RecentEvent& target = a->recent[static_cast<size_t>(pick)];
  if (target.kind == AccountEvent::kOrderPlaced) {
    a->open_orders.erase(std::find(a->open_orders.begin(), a->open_orders.end(), target.order));
  }
  AccountEvent& e = Begin(AccountEvent::kEventRetracted, a->clock, *a);
  kam::v1::EventRetracted* m = e.mutable_event_retracted();
  m->set_retracted_event_id(EventId(target.number));
  m->set_reason(random_.Pick(kRetractionReasons));
  // A retracted event can be neither corrected nor retracted again: drop it
  // from the candidates by moving the last slot into its place.
  const int last = a->recent_count - 1;
  if (pick != last)
    std::swap(a->recent[static_cast<size_t>(pick)], a->recent[static_cast<size_t>(last)]);
  a->recent_count = last;
  a->recent_next = last;
  return e;
}

// ---------------------------------------------------------------------------
// The catalog stream: launches spread over the span, and one fixed name.

bool PortfolioGenerator::IsCatalogCorrection(int64_t index) const {
  return catalog_events_ >= 4 && index == 2;
}

const Launch& PortfolioGenerator::CatalogLaunch(int64_t index) const {
  if (IsCatalogCorrection(index)) return launches_.front();
  return launches_[static_cast<size_t>(catalog_events_ >= 4 && index > 2 ? index - 1 : index)];
}

int64_t PortfolioGenerator::CatalogTime(int64_t index) const {
  // The fix is recorded a day after the second launch.
  if (IsCatalogCorrection(index)) return std::min(end_, launches_[1].at + kDay);
  return CatalogLaunch(index).at;
}

AccountEvent& PortfolioGenerator::CatalogEvent(int64_t index) {
  const Launch& launch = CatalogLaunch(index);
  const Product& product = kLaunchProducts[launch.product];
  const auto fill = [&](AccountEvent* e, absl::string_view suffix) {
    SetTime(e->mutable_occurred_at(), launch.at);
    e->set_actor("产品部");
    kam::v1::ProductLaunched* p = e->mutable_product_launched();
    p->set_product_id(launch.id);
    p->set_name(launch.generation == 1
                    ? absl::StrCat(product.name, suffix)
                    : absl::StrCat(product.name, " 第", launch.generation, "代", suffix));
    p->set_category(product.category);
  };
  if (!IsCatalogCorrection(index)) {
    AccountEvent& e = scratch_[AccountEvent::kProductLaunched];
    fill(&e, "");
    return e;
  }
  AccountEvent& e = scratch_[AccountEvent::kEventCorrected];
  SetTime(e.mutable_occurred_at(), CatalogTime(index));
  e.set_actor("产品部");
  kam::v1::EventCorrected* m = e.mutable_event_corrected();
  m->set_corrected_event_id(catalog_first_id_);
  fill(m->mutable_replacement(), "（标准版）");
  m->set_reason("产品名称更正");
  return e;
}

absl::Status ValidateOptions(const GeneratorOptions& options) {
  if (options.accounts < 1) {
    return absl::InvalidArgumentError("GeneratorOptions.accounts must be at least 1");
  }
  if (options.events < options.accounts) {
    return absl::InvalidArgumentError(
        absl::StrCat("GeneratorOptions.events (", options.events,
                     ") must be at least GeneratorOptions.accounts (", options.accounts,
                     "): every account starts with its AccountOpened"));
  }
  if (options.start < absl::FromUnixSeconds(kYear2000)) {
    return absl::InvalidArgumentError("GeneratorOptions.start must not be before 2000-01-01");
  }
  if (options.end <= options.start) {
    return absl::InvalidArgumentError("GeneratorOptions.end must be after GeneratorOptions.start");
  }
  const std::string& c = options.currency;
  if (c.size() != 3 ||
      !std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; })) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GeneratorOptions.currency must be an ISO-4217 code like \"CNY\", got \"", c, "\""));
  }
  return absl::OkStatus();
}

absl::Status GenerateIndexed(const GeneratorOptions& options, const IndexedSink& sink) {
  KAM_RETURN_IF_ERROR(ValidateOptions(options));
  PortfolioGenerator generator(options);
  return generator.Run(sink);
}

}  // namespace

absl::Status GeneratePortfolio(const GeneratorOptions& options,
                               const std::function<absl::Status(const GeneratedEvent&)>& sink) {
  return GenerateIndexed(options,
                         [&sink](const GeneratedEvent& event, size_t) { return sink(event); });
}

absl::StatusOr<int64_t> GenerateIntoLog(const GeneratorOptions& options, eventstore::EventLog* log,
                                        int events_per_append) {
  if (log == nullptr) return absl::InvalidArgumentError("GenerateIntoLog: log must not be null");
  if (events_per_append < 1) {
    return absl::InvalidArgumentError("GenerateIntoLog: events_per_append must be at least 1");
  }
  const size_t batch = static_cast<size_t>(events_per_append);
  // One pending batch per stream (accounts by index, then the catalog).
  std::vector<std::vector<eventstore::EventData>> pending(static_cast<size_t>(options.accounts) +
                                                          1);
  std::vector<std::string> streams(pending.size());
  int64_t appended = 0;
  const auto flush = [&](size_t i) -> absl::Status {
    if (pending[i].empty()) return absl::OkStatus();
    KAM_RETURN_IF_ERROR(
        log->Append(streams[i], eventstore::ExpectedVersion::Any(), pending[i]).status());
    appended += static_cast<int64_t>(pending[i].size());
    pending[i].clear();
    return absl::OkStatus();
  };
  KAM_RETURN_IF_ERROR(
      GenerateIndexed(options, [&](const GeneratedEvent& event, size_t i) -> absl::Status {
        if (streams[i].empty()) streams[i] = event.stream;
        if (pending[i].capacity() == 0) pending[i].reserve(batch);
        pending[i].push_back(event.data);
        return pending[i].size() >= batch ? flush(i) : absl::OkStatus();
      }));
  for (size_t i = 0; i < pending.size(); ++i) KAM_RETURN_IF_ERROR(flush(i));
  return appended;
}

}  // namespace kam::tools
