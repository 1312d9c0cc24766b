import { Group, Modal, type ModalProps } from "@mantine/core";

interface DialogProps extends Omit<ModalProps, "title" | "withCloseButton" | "closeButtonProps"> {
  title: string;
}

/**
 * A Mantine Modal whose title bar is a plain <div>: Modal's own header is a <header>, which axe
 * counts as a second banner landmark next to the app's (landmark-no-duplicate-banner, landmark-unique).
 */
export function Dialog({ title, children, ...props }: DialogProps) {
  return (
    <Modal {...props} withCloseButton={false}>
      <Group justify="space-between" align="flex-start" wrap="nowrap" mb="md">
        <Modal.Title fw={600} fz="lg">
          {title}
        </Modal.Title>
        <Modal.CloseButton aria-label="Dismiss" />
      </Group>
      {children}
    </Modal>
  );
}
