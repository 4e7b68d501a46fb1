-- PostgreSQL twin of migrations/0016_project_visibility.sql (conventions: 0001): projects kept to one member.
CREATE TABLE project_visibility (
    project text PRIMARY KEY,
    private_to text NOT NULL,
    set_at text NOT NULL
);
