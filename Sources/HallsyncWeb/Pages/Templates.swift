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
        "phone": phone, "attention": attention, "audit": audit, "message": message,
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
        header a, header span { color: #fff; margin-right: 14px; text-decoration: none; }
        header form { display: inline; }
        header button { background: none; border: 1px solid #fff; color: #fff; cursor: pointer; }
        main { padding: 12px 16px; }
        h1 { font-size: 18px; margin: 6px 0 12px; }
        h2 { font-size: 15px; margin: 16px 0 8px; }
        table { border-collapse: collapse; background: #fff; margin-bottom: 12px; }
        th, td { border: 1px solid #ccd; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #e8edf3; }
        td.n { text-align: right; }
        tr.total td { font-weight: bold; background: #f0f3f7; }
        .muted { color: #777; }
        .error { color: #a40000; font-weight: bold; }
        .notice { color: #0b6b2c; font-weight: bold; }
        .warn { color: #a05a00; }
        form.filter { margin-bottom: 10px; }
        form.filter input, form.filter select { margin-right: 8px; }
        .pager a { margin-right: 8px; }
        </style>
        </head>
        <body>
        <header>
        <strong>预约数据汇总</strong> &nbsp;
        {{#account}}
        <a href="/summary">汇总</a><a href="/list">预约列表</a><a href="/phone">电话核实</a><a href="/attention">待人工处理</a>{{#isAdmin}}<a href="/audit">查看记录</a>{{/isAdmin}}
        <span>{{name}}（{{roleName}}，{{scope}}）</span>
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
        <p class="muted">账号由管理员在服务器上开设（hallsync user add）。部门工作人员可查看本部门的全部预约，区划管理员可查看本区划的全部预约。</p>
        {{> footer}}
        """

    static let dateFilter = """
        <form class="filter" method="get" action="{{action}}">
        预约日期 <input type="date" name="from" value="{{from}}"> 至 <input type="date" name="to" value="{{to}}">
        {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
        <button type="submit">查询</button>
        </form>
        """

    static let summary = """
        {{> header}}
        <h1>预约数据汇总</h1>
        \(dateFilter)
        <p><a href="{{csv}}">导出 CSV</a> <span class="muted">（数据截至 {{asOf}}；超期按办件期限计算；待人工为有待处理事项的预约数）</span></p>
        <table id="summary">
        <tr><th>部门</th><th>事项</th><th>预约总数</th><th>待处理</th><th>已办理</th><th>已咨询</th><th>已取消</th><th>超期</th><th>电话核实</th><th>已确认</th><th>申请人取消</th><th>未接通</th><th>未联系</th><th>待人工</th></tr>
        {{#rows}}
        <tr{{#isTotal}} class="total"{{/isTotal}}><td>{{department}}</td><td>{{matter}}</td>{{#cells}}<td class="n">{{#link}}<a href="{{link}}">{{count}}</a>{{/link}}{{^link}}{{count}}{{/link}}</td>{{/cells}}</tr>
        {{/rows}}
        </table>
        {{^hasRows}}<p class="muted">这段日期内没有预约。</p>{{/hasRows}}
        {{> footer}}
        """

    static let list = """
        {{> header}}
        <h1>{{heading}}</h1>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a> {{#masked}}<span class="muted">（姓名、电话仅对本部门工作人员完整显示）</span>{{/masked}}</p>
        <table id="reservations">
        <tr><th>预约编号</th><th>预约时间</th><th>办件期限</th><th>事项</th><th>状态</th><th>综合受理</th><th>行政许可</th><th>门户状态</th><th>申请人</th><th>联系电话</th></tr>
        {{#rows}}
        <tr><td><a href="/reservation/{{id}}">{{id}}</a>{{#attention}} <span class="warn">待人工</span>{{/attention}}</td><td>{{appointment}}</td><td>{{deadline}}{{#overdue}} <span class="error">超期</span>{{/overdue}}</td><td>{{matter}}</td><td>{{state}}</td><td>{{intake}}</td><td>{{licensing}}</td><td>{{portal}}</td><td>{{name}}</td><td>{{phone}}</td></tr>
        {{/rows}}
        </table>
        <p class="pager">{{#previous}}<a href="{{previous}}">上一页</a>{{/previous}}{{#next}}<a href="{{next}}">下一页</a>{{/next}} <span class="muted">第 {{page}} 页</span></p>
        {{> footer}}
        """

    static let record = """
        {{> header}}
        <h1>预约 {{id}}</h1>
        <table id="record">
        <tr><th>事项</th><td>{{matter}}</td></tr>
        <tr><th>部门</th><td>{{department}}</td></tr>
        <tr><th>预约时间</th><td>{{appointment}}</td></tr>
        <tr><th>办件期限</th><td>{{deadline}}{{#overdue}} <span class="error">超期</span>{{/overdue}}</td></tr>
        <tr><th>状态</th><td>{{state}}</td></tr>
        <tr><th>办理结果</th><td>{{outcome}}</td></tr>
        <tr><th>门户状态</th><td>{{portal}}</td></tr>
        <tr><th>申请人</th><td>{{name}}</td></tr>
        <tr><th>联系电话</th><td>{{phone}}</td></tr>
        </table>
        <h2>大厅办件</h2>
        <table><tr><th>系统</th><th>办件编号</th><th>状态</th><th>办结方</th><th>时间</th><th>版本</th></tr>
        {{#copies}}<tr><td>{{target}}</td><td>{{itemNo}}</td><td>{{status}}</td><td>{{closedBy}}</td><td>{{at}}</td><td>{{revision}}</td></tr>{{/copies}}
        </table>
        <h2>门户版本</h2>
        <table><tr><th>版本</th><th>门户更新时间</th><th>收到时间</th><th>预约状态</th><th>推送状态</th><th>预约日期</th><th>时段</th><th>处理方式</th></tr>
        {{#versions}}<tr><td>{{version}}</td><td>{{updateTime}}</td><td>{{seenAt}}</td><td>{{status}}</td><td>{{processStatus}}</td><td>{{date}}</td><td>{{slot}}</td><td>{{disposition}}</td></tr>{{/versions}}
        </table>
        <h2>发送与推送</h2>
        <table><tr><th>对象</th><th>类型</th><th>结果</th><th>尝试次数</th><th>排队时间</th><th>完成时间</th><th>最近错误</th></tr>
        {{#sends}}<tr><td>{{target}}</td><td>{{kind}}</td><td>{{state}}</td><td class="n">{{attempts}}</td><td>{{createdAt}}</td><td>{{settledAt}}</td><td>{{lastError}}</td></tr>{{/sends}}
        </table>
        <h2>待人工处理事项</h2>
        <table><tr><th>原因</th><th>字段</th><th>说明</th><th>提出时间</th><th>处理</th></tr>
        {{#attention}}<tr><td>{{code}}</td><td>{{field}}</td><td>{{message}}</td><td>{{raisedAt}}</td><td>{{resolved}}</td></tr>{{/attention}}
        </table>
        {{#hasCalls}}<h2>电话核实记录</h2>
        <table><tr><th>时间</th><th>结果</th><th>备注</th><th>记录人</th></tr>
        {{#calls}}<tr><td>{{at}}</td><td>{{result}}</td><td>{{note}}</td><td>{{account}}</td></tr>{{/calls}}
        </table>{{/hasCalls}}
        {{> footer}}
        """

    static let phone = """
        {{> header}}
        <h1>电话核实（升级前预约）</h1>
        <p class="muted">升级前的预约不进入大厅收件箱，须电话核实。请联系申请人，确认预约后记录结果。</p>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a></p>
        <table id="phone">
        <tr><th>预约编号</th><th>预约时间</th><th>事项</th><th>申请人</th><th>联系电话</th><th>核实结果</th><th>记录</th></tr>
        {{#rows}}
        <tr><td><a href="/reservation/{{id}}">{{id}}</a></td><td>{{appointment}}</td><td>{{matter}}</td><td>{{name}}</td><td>{{phone}}</td><td>{{result}}</td>
        <td>{{#canRecord}}<form method="post" action="/phone/{{id}}/call"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="back" value="{{back}}">
        <select name="result"><option value="CONFIRMED">已确认</option><option value="CANCELLED_BY_APPLICANT">申请人取消</option><option value="UNREACHABLE">未接通</option></select>
        <input name="note" placeholder="备注" maxlength="200"> <button type="submit">记录</button></form>{{/canRecord}}{{^canRecord}}<span class="muted">仅本部门工作人员可记录</span>{{/canRecord}}</td></tr>
        {{/rows}}
        </table>
        <p class="pager">{{#previous}}<a href="{{previous}}">上一页</a>{{/previous}}{{#next}}<a href="{{next}}">下一页</a>{{/next}}</p>
        {{> footer}}
        """

    static let attention = """
        {{> header}}
        <h1>待人工处理</h1>
        <p>{{reservations}} 条预约，{{entries}} 项待处理 &nbsp; <a href="/attention.csv">导出 CSV</a></p>
        <p class="muted">“重新处理”：在事项目录或配置修正后，让同步程序重新处理该预约（每条预约只会送达一次）。“标记已处理”：人工处理完毕后关闭此项，须填写说明。</p>
        <table id="attention">
        <tr><th>预约编号</th><th>原因</th><th>字段</th><th>说明</th><th>已等待</th><th>操作</th></tr>
        {{#rows}}
        <tr><td>{{#linked}}<a href="/reservation/{{reservationId}}">{{reservationId}}</a>{{/linked}}{{^linked}}{{reservationId}}{{/linked}}</td><td>{{code}}</td><td>{{field}}</td><td>{{message}}</td><td>{{age}}</td>
        <td>{{#waiting}}<span class="muted">已提交，等待同步程序处理</span>{{/waiting}}{{^waiting}}{{#linked}}
        <form method="post" action="/attention/{{id}}/retry"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">重新处理</button></form>{{/linked}}
        <form method="post" action="/attention/{{id}}/resolve"><input type="hidden" name="csrf" value="{{csrf}}"><input name="note" placeholder="处理说明" required maxlength="500"> <button type="submit">标记已处理</button></form>{{/waiting}}</td></tr>
        {{/rows}}
        </table>
        {{> footer}}
        """

    static let audit = """
        {{> header}}
        <h1>个人信息查看记录</h1>
        \(dateFilter)
        <p>共 {{total}} 条 &nbsp; <a href="{{csv}}">导出 CSV</a></p>
        <table id="audit"><tr><th>时间</th><th>账号</th><th>预约编号</th><th>页面</th><th>地址</th></tr>
        {{#rows}}<tr><td>{{at}}</td><td>{{account}}</td><td><a href="/reservation/{{reservationId}}">{{reservationId}}</a></td><td>{{view}}</td><td>{{address}}</td></tr>{{/rows}}
        </table>
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
