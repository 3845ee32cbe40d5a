# Writes the scanner's corpus: apex-scan/tests/corpus/<case>/{classes/*.cls, *.cls-meta.xml, EXPECTED}.
# Usage: python3 apex-scan/tests/make_corpus.py apex-scan/tests/corpus (it replaces the folder).
import os, shutil, sys
ROOT = sys.argv[1]
T = "@InvocableMethod public static List<String> run(List<Id> ids)"
cases = {}
def case(name, verdict, rules, why, classes, api="66.0"):
    cases[name] = (verdict, rules, why, classes, api)

REPO_LEAK = "public without sharing class Repo { public List<Case> find(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids]; } }"
REPO_SAFE = "public with sharing class Repo { public List<Case> find(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; } }"
def tool(body, sharing="with sharing"):
    return f"public {sharing} class Tool {{ {T} {{ {body} }} }}"
NAMES = "List<String> out = new List<String>(); for (Case c : cs) { out.add(c.Subject); } return out;"

# 1. A call through a local variable.
for v, repo in (("leak", REPO_LEAK), ("clean", REPO_SAFE)):
    case(f"call_through_a_local_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a helper called through a local variable of its type",
         {"Tool": tool(f"Repo repo = new Repo(); List<Case> cs = repo.find(ids); {NAMES}"), "Repo": repo})
# 2. A call through a field (instance, set in the constructor) and a static field.
for v, repo in (("leak", REPO_LEAK), ("clean", REPO_SAFE)):
    case(f"call_through_a_field_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a helper held in a field and called through `this.repo`",
         {"Tool": f"public with sharing class Tool {{ private Repo repo; public Tool() {{ this.repo = new Repo(); }} public List<String> names(List<Id> ids) {{ List<Case> cs = this.repo.find(ids); {NAMES} }} {T} {{ return new Tool().names(ids); }} }}",
          "Repo": repo})
    case(f"call_through_a_static_field_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a helper held in a static final field",
         {"Tool": f"public with sharing class Tool {{ private static final Repo REPO = new Repo(); {T} {{ List<Case> cs = REPO.find(ids); {NAMES} }} }}",
          "Repo": repo})
# 3. An interface resolved to its implementations.
for v, impl in (("leak", "public without sharing class CaseFinder implements Finder { public List<Case> find(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids]; } }"),
                ("clean", "public with sharing class CaseFinder implements Finder { public List<Case> find(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; } }")):
    case(f"call_through_an_interface_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a call through an interface reaches every implementation",
         {"Tool": tool(f"Finder f = Finders.make(); List<Case> cs = f.find(ids); {NAMES}"),
          "Finder": "public interface Finder { List<Case> find(List<Id> ids); }",
          "Finders": "public with sharing class Finders { public static Finder make() { return (Finder) Type.forName('CaseFinder').newInstance(); } }",
          "CaseFinder": impl})
# 4. An overridden virtual method.
for v, child in (("leak", "public without sharing class Child extends Base { public override List<Case> load(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids]; } }"),
                 ("clean", "public with sharing class Child extends Base { public override List<Case> load(List<Id> ids) { return [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; } }")):
    case(f"call_to_an_overridden_method_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a call on the base type runs the subclass's override",
         {"Tool": tool(f"Base b = Base.pick(); List<Case> cs = b.load(ids); {NAMES}"),
          "Base": "public virtual with sharing class Base { public static Base pick() { return new Child(); } public virtual List<Case> load(List<Id> ids) { return new List<Case>(); } }",
          "Child": child})
# 5. Another class's property: its getter runs only when read.
GETTER = "public without sharing class Settings { public static Integer openCases { get { return [SELECT COUNT() FROM Case WHERE IsClosed = false]; } } public static Integer version { get { return 1; } } }"
case("property_getter_read_leak", "leak", ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"],
     "reading another class's property runs its getter's query",
     {"Tool": tool("return new List<String>{ String.valueOf(Settings.openCases) };"), "Settings": GETTER})
case("property_getter_not_read_clean", "clean", [],
     "a getter the tool never reads does not run",
     {"Tool": tool("return new List<String>{ String.valueOf(Settings.version) };"), "Settings": GETTER})
# 6. Asynchronous work started by the tool.
for v, mode in (("leak", ""), ("clean", " WITH USER_MODE")):
    rules = ["APEX-QUERY-NO-USER-MODE", "APEX-SHARING-NOT-DECLARED"] if v == "leak" else []
    case(f"batch_started_by_a_tool_{v}", v, rules,
         "Database.executeBatch runs the job's start, execute and finish later, as its own entry point",
         {"Tool": tool("Database.executeBatch(new CloseJob(), 200); return new List<String>();"),
          "CloseJob": f"public class CloseJob implements Database.Batchable<SObject> {{ public Database.QueryLocator start(Database.BatchableContext bc) {{ return Database.getQueryLocator('SELECT Id FROM Case', AccessLevel.USER_MODE); }} public void execute(Database.BatchableContext bc, List<SObject> scope) {{ List<Case> cs = [SELECT Id, Subject FROM Case WHERE Id IN :scope{mode}]; }} public void finish(Database.BatchableContext bc) {{ }} }}"})
    case(f"queueable_enqueued_by_a_tool_{v}", v, rules,
         "System.enqueueJob runs the job's execute later",
         {"Tool": tool("System.enqueueJob(new Refresh(ids)); return new List<String>();"),
          "Refresh": f"public class Refresh implements Queueable {{ private List<Id> ids; public Refresh(List<Id> ids) {{ this.ids = ids; }} public void execute(QueueableContext ctx) {{ List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids{mode}]; }} }}"})
    case(f"future_method_called_by_a_tool_{v}", v, ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "a @future method runs the same code later",
         {"Tool": tool("Later.touch(ids); return new List<String>();"),
          "Later": f"public {'without' if v == 'leak' else 'with'} sharing class Later {{ @future public static void touch(List<Id> ids) {{ List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids{mode}]; }} }}"})
# 7. Code that runs when a class is first used or constructed.
for v, mode in (("leak", ""), ("clean", " WITH USER_MODE")):
    rules = ["APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else []
    case(f"static_initializer_{v}", v, rules,
         "a static field initializer runs on the class's first use",
         {"Tool": tool("return new List<String>{ Cache.label(ids[0]) };"),
          "Cache": f"public without sharing class Cache {{ private static final Map<Id, Case> ALL = new Map<Id, Case>([SELECT Id, Subject FROM Case{mode}]); public static String label(Id id) {{ return ALL.get(id)?.Subject; }} }}"})
    case(f"static_block_{v}", v, rules,
         "a static block runs on the class's first use",
         {"Tool": tool("return new List<String>{ Lookup.name(ids[0]) };"),
          "Lookup": f"public without sharing class Lookup {{ private static Map<Id, Case> byId; static {{ byId = new Map<Id, Case>([SELECT Id, Subject FROM Case{mode}]); }} public static String name(Id id) {{ return byId.get(id)?.Subject; }} }}"})
    case(f"instance_initializer_{v}", v, rules,
         "an instance initializer runs on every new",
         {"Tool": tool("Holder h = new Holder(); return h.names();"),
          "Holder": f"public without sharing class Holder {{ private List<Case> cs; {{ cs = [SELECT Subject FROM Case{mode}]; }} public List<String> names() {{ List<String> out = new List<String>(); for (Case c : cs) {{ out.add(c.Subject); }} return out; }} }}"})
# 8. A comment never states an access level.
case("access_level_in_a_comment_leak", "leak", ["APEX-DATABASE-NO-ACCESS-LEVEL"],
     "an access level written in a comment is no access level",
     {"Tool": tool("List<Case> cs = Database.query('SELECT Subject FROM Case' /* , AccessLevel.USER_MODE */); " + NAMES)})
case("access_level_in_code_clean", "clean", [],
     "the same call with the access level in code",
     {"Tool": tool("List<Case> cs = Database.query('SELECT Subject FROM Case', AccessLevel.USER_MODE); " + NAMES)})
# 9. WITH USER_MODE / SYSTEM_MODE inside a dynamic query string.
case("mode_in_a_dynamic_query_string_clean", "clean", [],
     "a dynamic query built from literals that asks for user mode",
     {"Tool": tool("String soql = 'SELECT Subject FROM Case'; soql += ' WITH USER_MODE'; List<Case> cs = Database.query(soql); " + NAMES)})
case("system_mode_in_a_dynamic_query_string_leak", "leak", ["APEX-DATABASE-SYSTEM-MODE"],
     "a dynamic query built from literals that asks for system mode",
     {"Tool": tool("String soql = 'SELECT Subject FROM Case ' + 'WITH SYSTEM_MODE'; List<Case> cs = Database.query(soql); " + NAMES)}, api="67.0")
case("user_mode_only_in_a_quoted_value_leak", "leak", ["APEX-DATABASE-NO-ACCESS-LEVEL"],
     "'WITH USER_MODE' inside a quoted value asks for nothing",
     {"Tool": tool("List<Case> cs = Database.query('SELECT Subject FROM Case WHERE Subject = \\'WITH USER_MODE\\''); " + NAMES)})
# 10. An access level in a variable.
case("access_level_variable_user_clean", "clean", [],
     "an AccessLevel local assigned USER_MODE",
     {"Tool": tool("AccessLevel level = AccessLevel.USER_MODE; List<Case> cs = Database.query('SELECT Subject FROM Case', level); " + NAMES)})
case("access_level_variable_system_leak", "leak", ["APEX-DATABASE-SYSTEM-MODE"],
     "an AccessLevel local that can be SYSTEM_MODE",
     {"Tool": tool("AccessLevel level = AccessLevel.USER_MODE; if (ids.size() > 100) { level = AccessLevel.SYSTEM_MODE; } List<Case> cs = Database.query('SELECT Subject FROM Case', level); " + NAMES)})
case("access_level_parameter_leak", "leak", ["APEX-ACCESS-LEVEL-UNKNOWN"],
     "an access level passed in is not known statically",
     {"Tool": tool("return Reader.names(AccessLevel.SYSTEM_MODE);"),
      "Reader": "public with sharing class Reader { public static List<String> names(AccessLevel level) { List<Case> cs = Database.query('SELECT Subject FROM Case', level); " + NAMES + " } }"}, api="67.0")
# 11. The Database and Search surface.
case("convert_lead_without_access_level_leak", "leak", ["APEX-DATABASE-NO-ACCESS-LEVEL"],
     "Database.convertLead is a write like any other",
     {"Tool": tool("Database.LeadConvert lc = new Database.LeadConvert(); lc.setLeadId(ids[0]); Database.convertLead(lc); return new List<String>();")})
case("convert_lead_user_mode_clean", "clean", [],
     "Database.convertLead in user mode",
     {"Tool": tool("Database.LeadConvert lc = new Database.LeadConvert(); lc.setLeadId(ids[0]); Database.convertLead(lc, true, AccessLevel.USER_MODE); return new List<String>();")})
case("search_query_without_access_level_leak", "leak", ["APEX-DATABASE-NO-ACCESS-LEVEL"],
     "Search.query runs SOSL like a static search",
     {"Tool": tool("List<List<SObject>> found = Search.query('FIND \\'acme\\' RETURNING Case(Subject)'); return new List<String>();")})
case("search_query_user_mode_clean", "clean", [],
     "Search.query in user mode",
     {"Tool": tool("List<List<SObject>> found = Search.query('FIND \\'acme\\' RETURNING Case(Subject)', AccessLevel.USER_MODE); return new List<String>();")})
case("cursor_and_immediate_dml_leak", "leak", ["APEX-DATABASE-NO-ACCESS-LEVEL"],
     "Database.getCursor and Database.insertImmediate without an access level",
     {"Tool": tool("Database.Cursor cur = Database.getCursor('SELECT Id FROM Case'); Database.insertImmediate(new Case()); return new List<String>();")})
case("sosl_with_user_mode_clean", "clean", [],
     "a static SOSL search WITH USER_MODE (the grammar does not know the clause; the scanner does)",
     {"Tool": tool("List<List<SObject>> found = [FIND 'acme' IN ALL FIELDS RETURNING Case(Subject) WITH USER_MODE]; return new List<String>();")})
# 12. inherited sharing.
case("inherited_sharing_entry_point_clean", "clean", [],
     "an inherited sharing class as the entry point runs with sharing",
     {"Tool": "public inherited sharing class Tool { " + T + " { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; " + NAMES + " } }"})
case("inherited_sharing_called_without_sharing_leak", "leak", ["APEX-QUERY-SECURITY-ENFORCED", "APEX-WITHOUT-SHARING"],
     "an inherited sharing helper called from a without sharing class runs without sharing",
     {"Tool": tool("return Admin.names(ids);"),
      "Admin": "public without sharing class Admin { public static List<String> names(List<Id> ids) { return Reader.names(ids); } }",
      "Reader": "public inherited sharing class Reader { public static List<String> names(List<Id> ids) { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids WITH SECURITY_ENFORCED]; " + NAMES + " } }"})
# 13. without sharing matters only where records are touched.
case("without_sharing_touching_no_records_clean", "clean", [],
     "a without sharing utility that never reads or writes records",
     {"Tool": tool("return new List<String>{ Fmt.label(ids.size()) };"),
      "Fmt": "public without sharing class Fmt { public static String label(Integer n) { return n + ' cases'; } }"})
case("without_sharing_with_user_mode_operations_clean", "clean", [],
     "user-mode queries and DML enforce sharing whatever the class keyword",
     {"Tool": "public without sharing class Tool { " + T + " { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; update as user cs; " + NAMES + " } }"})
# 14. stripInaccessible.
case("strip_inaccessible_covers_the_query_clean", "clean", [],
     "stripInaccessible(READABLE) on a query that filters only on fields it returns",
     {"Tool": tool("List<Case> cs = Security.stripInaccessible(AccessType.READABLE, [SELECT Id, Subject FROM Case WHERE Id IN :ids]).getRecords(); " + NAMES)})
case("strip_inaccessible_misses_the_filter_leak", "leak", ["APEX-QUERY-NO-USER-MODE"],
     "stripInaccessible strips returned fields, not the one the query filters on",
     {"Tool": tool("List<Case> raw = [SELECT Id, Subject FROM Case WHERE Id IN :ids AND Description = 'vip']; List<Case> cs = Security.stripInaccessible(AccessType.READABLE, raw).getRecords(); " + NAMES)})
case("strip_inaccessible_before_update_clean", "clean", [],
     "stripInaccessible(UPDATABLE) on the records an update writes",
     {"Tool": tool("List<Case> cs = new List<Case>(); for (Id i : ids) { cs.add(new Case(Id = i, Status = 'Closed')); } SObjectAccessDecision d = Security.stripInaccessible(AccessType.UPDATABLE, cs); update d.getRecords(); return new List<String>();")})
case("strip_inaccessible_wrong_access_type_leak", "leak", ["APEX-DML-NO-AS-USER"],
     "stripInaccessible(READABLE) does not cover an update",
     {"Tool": tool("List<Case> cs = new List<Case>(); for (Id i : ids) { cs.add(new Case(Id = i, Status = 'Closed')); } SObjectAccessDecision d = Security.stripInaccessible(AccessType.READABLE, cs); update d.getRecords(); return new List<String>();")})
# 15. Describe-based checks.
case("describe_checks_cover_every_field_clean", "clean", [],
     "isAccessible on the object and every field the query uses, guarding it",
     {"Tool": tool("if (!Schema.sObjectType.Case.isAccessible() || !Schema.sObjectType.Case.fields.Subject.isAccessible() || !Schema.sObjectType.Case.fields.Status.isAccessible()) { throw new AuraHandledException('no access'); } List<Case> cs = [SELECT Subject FROM Case WHERE Status = 'New' AND Id IN :ids]; " + NAMES)})
case("describe_checks_miss_a_field_leak", "leak", ["APEX-QUERY-NO-USER-MODE"],
     "the checks cover the object and one field, the query uses another",
     {"Tool": tool("if (!Schema.sObjectType.Case.isAccessible() || !Schema.sObjectType.Case.fields.Subject.isAccessible()) { throw new AuraHandledException('no access'); } List<Case> cs = [SELECT Subject FROM Case WHERE Status = 'New' AND Id IN :ids]; " + NAMES)})
case("describe_check_elsewhere_does_not_excuse_leak", "leak", ["APEX-QUERY-NO-USER-MODE"],
     "a check in another method guards nothing here",
     {"Tool": "public with sharing class Tool { public static Boolean allowed() { return Schema.sObjectType.Case.isAccessible() && Schema.sObjectType.Case.fields.Subject.isAccessible(); } " + T + " { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids]; " + NAMES + " } }"})
case("describe_check_guards_delete_clean", "clean", [],
     "isDeletable guards a delete (a delete writes no fields)",
     {"Tool": tool("List<Case> cs = new List<Case>(); for (Id i : ids) { cs.add(new Case(Id = i)); } if (Schema.sObjectType.Case.isDeletable()) { delete cs; } return new List<String>();")})
# 16. API versions, per class.
case("api_67_defaults_to_user_mode_clean", "clean", [],
     "from API 67.0 no keyword is with sharing and operations default to user mode",
     {"Tool": "public class Tool { " + T + " { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids]; update cs; " + NAMES + " } }"}, api="67.0")
case("api_66_helper_of_an_api_67_tool_leak", "leak", ["APEX-QUERY-NO-USER-MODE"],
     "the helper's own API version decides its default: 66.0 runs its query in system mode",
     {"Tool": "public class Tool { " + T + " { return Helper.names(ids); } }",
      "Helper": ("66.0", "public class Helper { public static List<String> names(List<Id> ids) { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids]; " + NAMES + " } }")}, api="67.0")
case("aura_entry_without_keyword_before_67_clean", "clean", [],
     "before API 67.0 an @AuraEnabled entry with no keyword runs with sharing",
     {"Tool": "public class Tool { @AuraEnabled public static List<String> run(List<Id> ids) { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids WITH USER_MODE]; " + NAMES + " } }"})
case("invocable_entry_without_keyword_before_67_leak", "leak", ["APEX-QUERY-SYSTEM-MODE", "APEX-SHARING-NOT-DECLARED"],
     "before API 67.0 an invocable entry with no keyword runs without sharing",
     {"Tool": "public class Tool { " + T + " { List<Case> cs = [SELECT Subject FROM Case WHERE Id IN :ids WITH SYSTEM_MODE]; " + NAMES + " } }"})
# 17. A class chosen at run time.
case("class_chosen_at_run_time_leak", "leak", ["APEX-UNRESOLVED-CALL"],
     "Type.forName with a name from input: any class could run",
     {"Tool": "public with sharing class Tool { @InvocableMethod public static List<String> run(List<String> names) { Object o = Type.forName(names[0]).newInstance(); return new List<String>(); } }"})

# 18. Only classes the tree makes instances of run through an interface or a virtual call.
for v, handlers in (("clean", "new Handlers.Summary()"), ("leak", "new Handlers.Summary(), 'purge' => new PurgeHandler()")):
    case(f"handler_map_only_made_classes_run_{v}", v, ["APEX-DML-NO-AS-USER", "APEX-QUERY-NO-USER-MODE", "APEX-WITHOUT-SHARING"] if v == "leak" else [],
         "an interface call runs only the implementations the tree makes instances of",
         {"Tool": "public with sharing class Tool { public interface Handler { String handle(Id caseId); } private static final Map<String, Handler> HANDLERS = new Map<String, Handler>{ 'summary' => " + handlers.replace(", 'purge'", ", 'purge'") + " }; @InvocableMethod public static List<String> run(List<Id> ids) { return new List<String>{ HANDLERS.get('summary').handle(ids[0]) }; } }",
          "Handlers": "public with sharing class Handlers { public class Summary implements Tool.Handler { public String handle(Id caseId) { return [SELECT Subject FROM Case WHERE Id = :caseId WITH USER_MODE].Subject; } } }",
          "PurgeHandler": "public without sharing class PurgeHandler implements Tool.Handler { public String handle(Id caseId) { delete [SELECT Id FROM Case WHERE Id = :caseId]; return 'purged'; } }"})
for v, override in (("clean", " protected override void log(Id parentId) { insert as user new Task(WhatId = parentId); }"), ("leak", "")):
    case(f"template_method_defaults_{v}", v, ["APEX-DML-NO-AS-USER"] if v == "leak" else [],
         "an abstract base's system-mode default runs only where the subclass made does not override it",
         {"Tool": tool("Exporter e = new CaseExporter(); e.export(ids[0]); return new List<String>();"),
          "Exporter": "public abstract with sharing class Exporter { public void export(Id parentId) { List<SObject> rows = fetch(parentId); log(parentId); } protected abstract List<SObject> fetch(Id parentId); protected virtual void log(Id parentId) { insert new Task(WhatId = parentId); } }",
          "CaseExporter": "public with sharing class CaseExporter extends Exporter { protected override List<SObject> fetch(Id parentId) { return [SELECT Id FROM Case WHERE AccountId = :parentId WITH USER_MODE]; }" + override + " }"})
# 19. Overloads are told apart by the declared types of the arguments.
for v, arg in (("clean", "Id one = ids[0]; Lead l = LeadLookup.find(one);"), ("leak", "Set<Id> some = new Set<Id>(ids); List<Lead> ls = LeadLookup.find(some);")):
    case(f"overload_by_argument_type_{v}", v, ["APEX-QUERY-NO-USER-MODE"] if v == "leak" else [],
         "the overload the argument's type selects is the one that runs",
         {"Tool": tool(arg + " return new List<String>();"),
          "LeadLookup": "public with sharing class LeadLookup { public static Lead find(Id leadId) { return [SELECT Id, Name FROM Lead WHERE Id = :leadId WITH USER_MODE]; } public static List<Lead> find(Set<Id> leadIds) { return [SELECT Id, Name FROM Lead WHERE Id IN :leadIds]; } }"})
# 20. stripInaccessible counts only where its result is what the code uses.
case("strip_inaccessible_result_unused_leak", "leak", ["APEX-QUERY-NO-USER-MODE"],
     "stripInaccessible called, but the unstripped records are returned",
     {"Tool": tool("List<Case> cs = [SELECT Id, Subject FROM Case WHERE Id IN :ids]; SObjectAccessDecision d = Security.stripInaccessible(AccessType.READABLE, cs); " + NAMES)})
case("strip_inaccessible_result_used_clean", "clean", [],
     "the records the code goes on with are the stripped ones",
     {"Tool": tool("List<Case> raw = [SELECT Id, Subject FROM Case WHERE Id IN :ids]; SObjectAccessDecision d = Security.stripInaccessible(AccessType.READABLE, raw); List<Case> cs = d.getRecords(); " + NAMES)})
# 21. String.format's arguments are read for the mode too.
for v, clause in (("clean", "WITH USER_MODE"), ("leak", "WITH SYSTEM_MODE")):
    case(f"string_format_mode_clause_{v}", v, ["APEX-DATABASE-SYSTEM-MODE"] if v == "leak" else [],
         "a query assembled with String.format from constants, the mode clause among the arguments",
         {"Tool": "public with sharing class Tool { private static final String TEMPLATE = 'SELECT {0} FROM Case WHERE Id IN :ids {1}'; private static final String CLAUSE = '" + clause + "'; " + T + " { List<Case> cs = Database.query(String.format(TEMPLATE, new List<Object>{ 'Subject', CLAUSE })); " + NAMES + " } }"})
# 22. Describe checks in a loop over a constant list of fields.
for v, fields in (("clean", "Case.Subject, Case.Status"), ("leak", "Case.Subject")):
    case(f"describe_checks_in_a_loop_{v}", v, ["APEX-QUERY-NO-USER-MODE"] if v == "leak" else [],
         "isAccessible() on each field of a constant list, in a loop that throws",
         {"Tool": "public with sharing class Tool { private static final List<Schema.SObjectField> FIELDS = new List<Schema.SObjectField>{ " + fields + " }; " + T + " { if (!Schema.sObjectType.Case.isAccessible()) { throw new AuraHandledException('no access'); } for (Schema.SObjectField f : FIELDS) { if (!f.getDescribe().isAccessible()) { throw new AuraHandledException('no access'); } } List<Case> cs = [SELECT Subject FROM Case WHERE Status = 'New']; " + NAMES + " } }"})

META = '<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">\n    <apiVersion>{}</apiVersion>\n    <status>Active</status>\n</ApexClass>\n'
if os.path.exists(ROOT): shutil.rmtree(ROOT)
for name, (verdict, rules, why, classes, api) in sorted(cases.items()):
    d = os.path.join(ROOT, name, "classes"); os.makedirs(d)
    for cname, body in classes.items():
        capi = api
        if isinstance(body, tuple): capi, body = body
        open(os.path.join(d, cname + ".cls"), "w").write(body + "\n")
        open(os.path.join(d, cname + ".cls-meta.xml"), "w").write(META.format(capi))
    open(os.path.join(ROOT, name, "EXPECTED"), "w").write(f"verdict: {verdict}\nrules: {' '.join(sorted(rules))}\nwhy: {why}\n")
print(len(cases), "cases", sum(1 for c in cases.values() if c[0]=="leak"), "leaks")
