package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"gavel/moderation"
)

// messages are the console's words, English and Chinese.
var messages = map[string][2]string{
	"overview": {"Overview", "概览"}, "cases": {"Cases", "案例"}, "sanctions": {"Sanctions", "处罚"}, "chats": {"Chats", "群聊"},
	"logout": {"Sign out", "退出"}, "login": {"Sign in", "登录"}, "user": {"User", "用户名"}, "password": {"Password", "密码"},
	"login.bad":  {"Wrong user name or password.", "用户名或密码错误。"},
	"login.slow": {"Too many failed attempts: wait a moment and try again.", "失败次数过多：请稍后再试。"},
	"by.verb":    {"Actions by verb", "按操作统计"}, "by.rule": {"Rule hits by rule", "按规则统计命中"},
	"webhooks": {"Webhooks by result", "Webhook 按结果统计"}, "queue": {"Queue depth (largest sample per hour)", "队列深度（每小时最大采样）"},
	"health": {"Health", "健康状况"}, "ok": {"OK", "正常"}, "none": {"Nothing yet.", "暂无。"},
	// The overview's health checks, by Check.Name.
	"store": {"Store", "存储"}, "redis": {"Redis", "Redis"}, "platform credentials": {"Platform credentials", "平台凭据"},
	"platform": {"Platform", "平台"}, "chat": {"Chat", "群"}, "actor": {"Actor", "操作者"}, "target": {"Target user", "目标用户"},
	"rule": {"Rule", "规则"}, "verb": {"Action", "操作"}, "outcome": {"Outcome", "结果"}, "since": {"Since (UTC)", "起始（UTC）"},
	"until": {"Until (UTC)", "截止（UTC）"}, "filter": {"Filter", "筛选"}, "next": {"Older →", "更早 →"}, "first": {"← Newest", "← 最新"},
	"case": {"Case", "案例"}, "time": {"Time (UTC)", "时间（UTC）"}, "targets": {"Targets", "目标"}, "reason": {"Reason", "原因"},
	"matched": {"Rule %s matched", "规则 %s 命中"}, "decision": {"Policy", "策略"}, "result": {"Result", "执行结果"},
	"related": {"Follows from", "关联案例"}, "followers": {"Followed by", "后续案例"}, "duration": {"Duration", "时长"}, "dryrun": {"dry run", "演练"},
	"expires": {"Ends (UTC)", "结束（UTC）"}, "never": {"until lifted", "直到解除"}, "lift": {"Lift", "解除"},
	"lifted": {"Lift queued: Gavel carries it out as a job under policy and records a case.", "已提交解除：Gavel 将按策略执行并记录案例。"},
	"kind":   {"Kind", "类型"}, "emulated": {"emulated", "模拟"}, "lastcase": {"Latest case", "最新案例"},
	"policy": {"Effective policy", "生效策略"}, "automod": {"Auto-moderation rules (after this chat's overrides)", "自动审核规则（含本群覆盖）"},
	"automod.off": {"Auto-moderation is off (automod.enabled: false).", "自动审核已关闭（automod.enabled: false）。"},
	"caps":        {"What the platform can do here", "平台在本群的能力"}, "recent": {"Recent cases", "最近案例"},
	"day": {"Cases in the last 24 h", "最近 24 小时案例数"}, "notfound": {"Not found.", "未找到。"},
	"error": {"Something went wrong", "出错了"}, "range": {"Range", "范围"},
	"disabled": {"Gavel is off in this chat", "Gavel 在本群已停用"},
	"admins":   {"Gavel admins", "Gavel 管理员"}, "protected": {"Protected users", "受保护用户"},
	"maxtargets": {"Targets per command", "每条命令目标数上限"}, "cpm": {"Commands per minute", "每分钟命令数"},
}

// tr returns key's text in lang.
func tr(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if lang == "zh" {
		return m[1]
	}
	return m[0]
}

var funcs = template.FuncMap{
	"T": tr,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return ""
		}
		return moderation.FormatDuration(d)
	},
	"chatURL": func(c moderation.ChatRef) string {
		return "/chats/" + url.PathEscape(c.Platform) + "/" + url.PathEscape(c.ID)
	},
	"chatRef": func(platform, id string) moderation.ChatRef { return moderation.ChatRef{Platform: platform, ID: id} },
	"casesOf": func(c moderation.ChatRef) string {
		return "/cases?" + url.Values{"platform": {c.Platform}, "chat": {c.ID}}.Encode()
	},
	"printf": fmt.Sprintf,
	// dict2 builds a map from key, value pairs, for a sub-template.
	"dict2": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

var pageNames = []string{"login", "overview", "cases", "case", "sanctions", "chats", "chat", "notfound", "error"}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// page renders a signed-in page.
func (s *Server) page(w http.ResponseWriter, req *request, status int, name string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["User"] = req.user.Name
	data["CSRF"] = req.session.CSRF
	s.render(w, status, name, req.lang, data)
}

// render writes the page whole or, when it fails, a plain error: never
// half a page.
func (s *Server) render(w http.ResponseWriter, status int, name, lang string, data map[string]any) {
	data["Lang"] = lang
	data["Page"] = name
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, data); err != nil {
		s.log.Error("console: rendering", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
