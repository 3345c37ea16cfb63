import Mustache

/// The page templates (mustache: `{{x}}` is HTML-escaped, nothing runs in the browser). Kept in
/// the binary, so that an installed hallsync needs no files beside it. Plain HTML forms and
/// links, one small style sheet inline: an old office browser and a hall network without the
/// internet see the same page.
enum Templates {
    static let library: MustacheLibrary = {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in sources { templates[name] = try! MustacheTemplate(string: text) }
        return MustacheLibrary(templates: templates)
    }()

    static func render(_ name: String, _ model: Any) -> String {
        library.render(model, withTemplate: name) ?? ""
    }

    static let sources: [String: String] = [
        "header": header, "footer": footer, "login": login, "summary": summary, "list": list, "record": record,
        "phone": phone, "attention": attention, "retry": retry, "audit": audit, "message": message, "pager": pager,
    ]

    static let header = """
        <!DOCTYPE html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} - 预约数据汇总</title>
        <style>
        body { font-family: "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", SimSun, sans-serif; margin: 0; color: #222; background: #f6f7f9; font-size: 14px; }
        header { background: #1f4e79; color: #fff; padding: 8px 16px; }
        header a, header span { color: #fff; margin-right: 14px; text-decoration: none; white-space: nowrap; }
        header form { display: inline; }
        header button { background: none; border: 1px solid #fff; color: #fff; cursor: pointer; }
        main { padding: 12px 16px; }
        h1 { font-size: 18px; margin: 6px 0 12px; }
        h2 { font-size: 15px; margin: 16px 0 8px; }
        table { border-collapse: collapse; background: #fff; margin-bottom: 12px; }
        th, td { border: 1px solid #ccd; padding: 4px 6px; text-align: left; vertical-align: top; }
        th { background: #e8edf3; white-space: nowrap; }
        td.n { text-align: right; white-space: nowrap; }
        td.nw, span.nw { white-space: nowrap; }
        td.wide { min-width: 14em; }
        td.name { min-width: 7em; }
        td.matter { min-width: 10em; }
        td.copy { white-space: pre-line; }
        td.reason { min-width: 9em; }
        td.field { min-width: 5em; }
        td.resolved { min-width: 5em; }
        td.person { min-width: 4em; }
        tr.total td { font-weight: bold; background: #f0f3f7; }
        .muted { color: #777; }
        .error { color: #a40000; font-weight: bold; white-space: nowrap; }
        a.nw { white-space: nowrap; }
        .notice { color: #0b6b2c; font-weight: bold; }
        .warn { color: #a05a00; white-space: nowrap; }
        form.filter { margin-bottom: 10px; }
        form.filter input, form.filter select { margin-right: 8px; }
        form.inline { display: inline; white-space: nowrap; }
        .pager a { margin-right: 8px; }
        .views a, .views strong { margin-right: 12px; }
        a.button { display: inline-block; padding: 1px 8px; border: 1px solid #767676; border-radius: 2px; background: #efefef; color: #000; text-decoration: none; white-space: nowrap; }
        </style>
        </head>
        <body>
        <header>
        <strong>预约数据汇总</strong> &nbsp;
        {{#account}}
        <a href="/summary">汇总</a><a href="/list">预约列表</a><a href="/phone">电话核实</a><a href="/attention">待人工处理</a>{{#isAdmin}}<a href="/audit">查看记录</a>{{/isAdmin}}
        <span>{{name}}（{{roleName}}，{{scope}}）</span>
        {{#pair}}{{#leader}}<span class="muted" id="pair">同步主机：{{leader}}（第 {{epoch}} 任）；本页：{{here}}</span>{{/leader}}{{^leader}}<span class="warn" id="pair">同步暂停：双机中没有主机在同步（{{why}}），请联系管理员；本页：{{here}}</span>{{/leader}}{{/pair}}
        <form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">退出</button></form>
        {{/account}}
        </header>
        <main>
        {{#flash}}<p class="notice">{{flash}}</p>{{/flash}}
        """

    static let footer = """
        </main>
        </body>
        </html>
        """

    static let pager = """
        {{#paged}}<p class="pager">{{#previous}}<a href="{{previous}}">上一页</a>{{/previous}}{{#next}}<a href="{{next}}">下一页</a>{{/next}} <span class="muted">第 {{page}} 页，共 {{pages}} 页</span></p>{{/paged}}
        """

    static let login = """
        {{> header}}
        <h1>登录</h1>
        {{#error}}<p class="error">{{error}}</p>{{/error}}
        <form method="post" action="/login">
        <input type="hidden" name="csrf" value="{{loginToken}}">
        <table>
        <tr><th><label for="name">账号</label></th><td><input id="name" name="name" value="{{name}}" autocomplete="username" required></td></tr>
        <tr><th><label for="password">密码</label></th><td><input id="password" name="password" type="password" autocomplete="current-password" required></td></tr>
        </table>
        <button id="login" type="submit">登录</button>
        </form>
        <p class="muted">还没有账号或忘记密码，请联系管理员开通账号或重设密码。部门工作人员可查看本部门的全部预约，区划管理员可查看本区划的全部预约。</p>
        <p class="muted">在公用电脑上用完后请点“退出”，或关闭浏览器。</p>
        {{> footer}}
        """

    static let dateFilter = """
        <form class="filter" method="get" action="{{action}}">
        {{dateLabel}} <input type="date" name="from" value="{{from}}"> 至 <input type="date" name="to" value="{{to}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
        <button type="submit">查询</button>
        </form>
        """

    static let summary = """
        {{> header}}
        <h1>{{heading}}</h1>
        \(dateFilter)
        {{#hasViews}}<p class="views">{{#views}}{{#current}}<strong>{{text}}</strong>{{/current}}{{^current}}<a href="{{link}}">{{text}}</a>{{/current}}{{/views}}</p>{{/hasViews}}
        <p><a href="{{csv}}">导出 CSV</a> <span class="muted">（共 {{lines}} 行；数据截至 {{asOf}}；超期按办件期限计算；待人工为有待处理事项的预约数{{^byMatter}}；点部门名称查看其各事项{{/byMatter}}）</span></p>
        <table id="summary">
        <tr><th>部门</th>{{#byMatter}}<th>事项</th>{{/byMatter}}<th>预约总数</th><th>待处理</th><th>已办理</th><th>已咨询</th><th>已取消</th><th>超期</th><th>电话核实</th><th>已确认</th><th>申请人取消</th><th>未接通</th><th>未联系</th><th>待人工</th></tr>
        {{#rows}}
        <tr{{#isTotal}} class="total"{{/isTotal}}><td>{{#departmentLink}}<a href="{{departmentLink}}">{{department}}</a>{{/departmentLink}}{{^departmentLink}}{{department}}{{/departmentLink}}</td>{{#byMatter}}<td>{{matter}}</td>{{/byMatter}}{{#cells}}<td class="n">{{#link}}<a href="{{link}}">{{count}}</a>{{/link}}{{^link}}{{count}}{{/link}}</td>{{/cells}}</tr>
        {{/rows}}
        </table>
        {{^hasRows}}<p class="muted">这段日期内没有预约。</p>{{/hasRows}}
        {{> pager}}
        {{> footer}}
        """

    static let list = """
        {{> header}}
        <h1>{{heading}}</h1>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a>（全部 {{total}} 条） {{#masked}}<span class="muted">（姓名、电话仅对本部门工作人员完整显示）</span>{{/masked}}</p>
        <table id="reservations">
        <tr><th>预约编号</th><th>预约时间</th><th>办件期限</th>{{#showDepartment}}<th>部门</th>{{/showDepartment}}<th>事项</th><th>状态</th>{{#halls}}<th>{{.}}</th>{{/halls}}<th>门户状态</th><th>申请人</th><th>联系电话</th></tr>
        {{#rows}}
        <tr><td><a class="nw" href="/reservation/{{id}}">{{id}}</a>{{#attention}} <span class="warn">待人工</span>{{/attention}}</td><td><span class="nw">{{appointmentDay}}</span> <span class="nw">{{appointmentTime}}</span></td><td><span class="nw">{{deadline}}</span>{{#overdue}} <span class="error">超期</span>{{/overdue}}</td>{{#showDepartment}}<td class="name">{{department}}</td>{{/showDepartment}}<td class="matter">{{matter}}</td><td class="nw">{{state}}</td>{{#copies}}<td class="copy">{{copy}}</td>{{/copies}}<td class="nw">{{portal}}</td><td class="person">{{name}}</td><td class="nw">{{phone}}</td></tr>
        {{/rows}}
        </table>
        {{> pager}}
        {{> footer}}
        """

    static let record = """
        {{> header}}
        <h1>预约 {{id}}</h1>
        <table id="record">
        <tr><th>事项</th><td>{{matter}}</td></tr>
        <tr><th>部门</th><td>{{department}}</td></tr>
        <tr><th>预约时间</th><td>{{appointment}}</td></tr>
        <tr><th>办件期限</th><td>{{deadline}}{{^deadline}}—{{/deadline}}{{#overdue}} <span class="error">超期</span>{{/overdue}}</td></tr>
        <tr><th>状态</th><td>{{state}}</td></tr>
        <tr><th>办理结果</th><td>{{outcome}}</td></tr>
        <tr><th>门户状态</th><td>{{portal}}</td></tr>
        <tr><th>申请人</th><td>{{name}}</td></tr>
        <tr><th>联系电话</th><td>{{phone}}</td></tr>
        </table>
        <h2>大厅办件</h2>
        {{#hasCopies}}<table><tr><th>系统</th><th>办件编号</th><th>状态</th><th>办结方</th><th>时间</th><th>版本</th></tr>
        {{#copies}}<tr><td class="nw">{{target}}</td><td class="nw">{{itemNo}}</td><td class="nw">{{status}}</td><td>{{closedBy}}</td><td class="nw">{{at}}</td><td class="n">{{revision}}</td></tr>{{/copies}}
        </table>{{/hasCopies}}{{^hasCopies}}<p class="muted">未进入大厅收件箱。</p>{{/hasCopies}}
        <h2>门户版本</h2>
        <table><tr><th>版本</th><th>门户更新时间</th><th>收到时间</th><th>预约状态</th><th>办理状态</th><th>预约时间</th><th>处理方式</th></tr>
        {{#versions}}<tr><td class="n">{{version}}</td><td class="nw">{{updateTime}}</td><td class="nw">{{seenAt}}</td><td class="nw">{{status}}</td><td class="nw">{{processStatus}}</td><td><span class="nw">{{appointmentDay}}</span> <span class="nw">{{appointmentTime}}</span></td><td class="nw">{{disposition}}</td></tr>{{/versions}}
        </table>
        <h2>发送与推送</h2>
        {{#hasSends}}<table><tr><th>对象</th><th>类型</th><th>结果</th><th>尝试次数</th><th>排队时间</th><th>完成时间</th><th>最近错误</th></tr>
        {{#sends}}<tr><td class="nw">{{target}}</td><td class="nw">{{kind}}</td><td class="nw">{{state}}</td><td class="n">{{attempts}}</td><td class="nw">{{createdAt}}</td><td class="nw">{{settledAt}}</td><td>{{lastError}}</td></tr>{{/sends}}
        </table>{{/hasSends}}{{^hasSends}}<p class="muted">没有发送记录。</p>{{/hasSends}}
        <h2>待人工处理事项</h2>
        {{#hasAttention}}<table><tr><th>原因</th><th>字段</th><th>说明</th><th>提出时间</th><th>处理</th></tr>
        {{#attention}}<tr><td class="reason">{{reason}}</td><td class="field">{{field}}</td><td class="wide">{{message}}</td><td class="nw">{{raisedAt}}</td><td class="resolved">{{resolved}}</td></tr>{{/attention}}
        </table>{{/hasAttention}}{{^hasAttention}}<p class="muted">没有待人工处理事项。</p>{{/hasAttention}}
        {{#hasCalls}}<h2>电话核实记录</h2>
        <table><tr><th>时间</th><th>结果</th><th>备注</th><th>记录人</th></tr>
        {{#calls}}<tr><td class="nw">{{at}}</td><td class="nw">{{result}}</td><td>{{note}}</td><td class="nw">{{account}}</td></tr>{{/calls}}
        </table>{{/hasCalls}}
        {{> footer}}
        """

    static let phone = """
        {{> header}}
        <h1>{{heading}}</h1>
        <p class="muted">升级前的预约不进入大厅收件箱，须电话核实。请联系申请人，确认预约后记录结果。</p>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a>{{#cancelledOnline}} &nbsp; <span class="muted">另有 <a href="{{cancelledOnlineLink}}">{{cancelledOnline}} 条</a>已由申请人网上取消，无需联系。</span>{{/cancelledOnline}}</p>
        <table id="phone">
        <tr><th>预约编号</th><th>预约时间</th>{{#showDepartment}}<th>部门</th>{{/showDepartment}}<th>事项</th><th>申请人</th><th>联系电话</th><th>核实结果</th><th>记录</th></tr>
        {{#rows}}
        <tr><td class="nw"><a href="/reservation/{{id}}">{{id}}</a></td><td><span class="nw">{{appointmentDay}}</span> <span class="nw">{{appointmentTime}}</span></td>{{#showDepartment}}<td class="name">{{department}}</td>{{/showDepartment}}<td class="matter">{{matter}}</td><td class="person">{{name}}</td><td class="nw">{{phone}}</td><td class="nw">{{#cancelledOnline}}申请人已网上取消{{/cancelledOnline}}{{^cancelledOnline}}{{result}}{{/cancelledOnline}}</td>
        <td>{{#canRecord}}<form class="inline" method="post" action="/phone/{{id}}/call"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}">
        <select name="result" required><option value="" selected>请选择结果</option><option value="CONFIRMED">已确认</option><option value="CANCELLED_BY_APPLICANT">申请人取消</option><option value="UNREACHABLE">未接通</option></select>
        <input name="note" placeholder="备注" maxlength="200"> <button type="submit">记录</button></form>{{/canRecord}}{{^canRecord}}<span class="muted">{{#cancelledOnline}}无需联系{{/cancelledOnline}}{{^cancelledOnline}}仅本部门工作人员可记录{{/cancelledOnline}}</span>{{/canRecord}}</td></tr>
        {{/rows}}
        </table>
        {{> pager}}
        {{> footer}}
        """

    static let attention = """
        {{> header}}
        <h1>待人工处理</h1>
        <p>{{reservations}} 条预约，{{entries}} 项待处理 &nbsp; <a href="/attention.csv">导出 CSV</a>（全部 {{entries}} 项）</p>
        <p class="muted">“重新处理”：在事项目录或配置修正后，让同步程序重新处理该预约（先确认，每条预约只会送达一次）。“标记已处理”：人工处理完毕后关闭此项，须填写说明；办结之后才发生的问题（如办理结果不一致、办理后又取消）只能这样关闭。</p>
        <table id="attention">
        <tr><th>预约编号</th>{{#showDepartment}}<th>部门</th>{{/showDepartment}}<th>事项</th><th>申请人</th><th>原因</th><th>字段</th><th>说明</th><th>已等待</th><th>操作</th></tr>
        {{#rows}}
        <tr><td class="nw">{{#linked}}<a href="/reservation/{{reservationId}}">{{reservationId}}</a>{{/linked}}{{^linked}}{{reservationId}}{{/linked}}</td>{{#showDepartment}}<td class="name">{{department}}</td>{{/showDepartment}}<td class="matter">{{matter}}</td><td class="person">{{applicant}}</td><td class="reason">{{reason}}</td><td class="field">{{field}}</td><td class="wide">{{message}}</td><td class="nw">{{age}}</td>
        <td>{{#waiting}}<span class="muted">已提交，等待同步程序处理</span>{{/waiting}}{{^waiting}}{{#retryable}}<a class="button" href="/attention/{{id}}/retry">重新处理…</a><br>{{/retryable}}
        <form class="inline" method="post" action="/attention/{{id}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}"><input name="note" placeholder="处理说明" required maxlength="500" size="12"> <button type="submit">标记已处理</button></form>{{/waiting}}</td></tr>
        {{/rows}}
        </table>
        {{> pager}}
        {{> footer}}
        """

    static let retry = """
        {{> header}}
        <h1>重新处理预约 {{reservationId}}？</h1>
        <table id="entry">
        <tr><th>预约编号</th><td>{{reservationId}}</td></tr>
        <tr><th>部门</th><td>{{department}}</td></tr>
        <tr><th>事项</th><td>{{matter}}</td></tr>
        <tr><th>申请人</th><td>{{applicant}}</td></tr>
        <tr><th>原因</th><td>{{reason}}（{{field}}）</td></tr>
        <tr><th>说明</th><td>{{message}}</td></tr>
        </table>
        <p>确认后，同步程序将在下一轮按现在的事项目录和配置重新检查这条预约：如果已可以送达，就送到大厅收件箱（每条预约只会送达一次）；如果仍有问题，它会留在待人工处理中。请先确认事项目录或配置已经修正。</p>
        {{#waiting}}<p class="muted">已提交，等待同步程序处理。</p>{{/waiting}}
        {{^waiting}}<form method="post" action="/attention/{{id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button id="confirm" type="submit">确认重新处理</button> &nbsp; <a href="/attention">取消，返回待人工处理</a></form>{{/waiting}}
        {{> footer}}
        """

    static let audit = """
        {{> header}}
        <h1>个人信息查看记录</h1>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a>（全部 {{total}} 条）</p>
        <table id="audit"><tr><th>查看时间</th><th>账号</th><th>预约编号</th><th>页面</th><th>地址</th></tr>
        {{#rows}}<tr><td class="nw">{{at}}</td><td class="nw">{{account}}</td><td class="nw"><a href="/reservation/{{reservationId}}">{{reservationId}}</a></td><td class="nw">{{view}}</td><td class="nw">{{address}}</td></tr>{{/rows}}
        </table>
        {{> pager}}
        {{> footer}}
        """

    static let message = """
        {{> header}}
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        <p><a href="{{back}}">返回</a></p>
        {{> footer}}
        """
}
