/*
 * trace_page.h - the timeline page's template as C strings (internal):
 * trace_page.c, generated from trace_page.html by scripts/embed-page.sh.
 * trace_html.c writes head, the program's name (HTML-escaped), middle, the
 * trace as JSON, then tail.
 */
#ifndef COMMON_TRACE_PAGE_H
#define COMMON_TRACE_PAGE_H

extern const char trace_page_head[];
extern const char trace_page_middle[];
extern const char trace_page_tail[];

#endif
